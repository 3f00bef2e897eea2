//! The order scenarios start in: features tagged `@fault` first, the rest as
//! cucumber reads them (by path). A fault scenario runs 5 to 7 s on the mock
//! cluster and most others 1 to 3 s, and the runner starts scenarios in the
//! order it reads them, as slots free up; read last, the fault scenarios
//! waited for slots and ended the run 2 to 3 s after everything else.
//! Longest first (the classic LPT rule) lets the short ones fill the gaps.

use cucumber::gherkin;
use cucumber::parser::{self, Parser};
use futures::{stream, StreamExt as _};

/// cucumber's own parser, with `@fault` features moved to the front.
#[derive(Debug, Default, Clone, Copy)]
pub struct FaultsFirst;

impl<I: AsRef<std::path::Path>> Parser<I> for FaultsFirst {
    type Cli = <parser::Basic as Parser<I>>::Cli;
    type Output = stream::Iter<std::vec::IntoIter<parser::Result<gherkin::Feature>>>;

    fn parse(self, input: I, cli: Self::Cli) -> Self::Output {
        let read: Vec<_> = futures::executor::block_on(parser::Basic::new().parse(input, cli).collect());
        stream::iter(faults_first(read))
    }
}

fn is_fault(feature: &parser::Result<gherkin::Feature>) -> bool {
    feature.as_ref().is_ok_and(|f| f.tags.iter().any(|t| t == "fault"))
}

/// Stable: each group keeps cucumber's order.
fn faults_first(mut read: Vec<parser::Result<gherkin::Feature>>) -> Vec<parser::Result<gherkin::Feature>> {
    read.sort_by_key(|f| !is_fault(f));
    read
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_features_come_first_and_the_rest_keep_their_order() {
        let dir = tempfile::tempdir().unwrap();
        for (file, tags) in [("a.feature", ""), ("b.feature", "@fault\n"), ("c.feature", ""), ("d.feature", "@fault\n")] {
            let text = format!("{tags}Feature: {file}\n  Scenario: one\n    Given nothing\n");
            std::fs::write(dir.path().join(file), text).unwrap();
        }
        let read: Vec<_> = futures::executor::block_on(FaultsFirst.parse(dir.path(), Default::default()).collect());
        let names: Vec<String> = read.into_iter().map(|f| f.unwrap().name).collect();
        assert_eq!(names, ["b.feature", "d.feature", "a.feature", "c.feature"]);
    }
}
