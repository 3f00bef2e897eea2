//! What `bench` found: every figure beside its peer's, the ratios against the
//! bars of issue 12, as JSON and as a table.

use serde::Serialize;

use super::compression::CompressionCell;
use super::dead_letter::DeadLetterFigures;
use super::ours::{ConsumeFigures, LatencyFigures, ProduceFigures};
use super::peer::{PeerConsume, PeerLatency, PeerProduce};
use super::BenchOptions;

/// One producer round: the peer, then dashstream without and with compression.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ProducerRound {
    pub peer: PeerProduce,
    /// `--compress never`.
    pub never: ProduceFigures,
    /// `--compress auto` (the default).
    pub auto: ProduceFigures,
    /// The topic `never` wrote (the first round's is what the consumers read).
    pub never_topic: String,
}

/// The producers: the median round of each side, and every round.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ProducerSection {
    pub peer: PeerProduce,
    pub never: ProduceFigures,
    pub auto: ProduceFigures,
    pub rounds: Vec<ProducerRound>,
}

/// The element whose `key` is the median (the lower middle for an even count).
pub fn median_by<T: Copy>(items: &[T], key: impl Fn(&T) -> f64) -> T {
    let mut sorted: Vec<T> = items.to_vec();
    sorted.sort_by(|a, b| key(a).total_cmp(&key(b)));
    sorted[(sorted.len() - 1) / 2]
}

impl ProducerSection {
    /// `rounds` must not be empty.
    pub fn from_rounds(rounds: Vec<ProducerRound>) -> Self {
        let peers: Vec<PeerProduce> = rounds.iter().map(|r| r.peer).collect();
        let nevers: Vec<ProduceFigures> = rounds.iter().map(|r| r.never).collect();
        let autos: Vec<ProduceFigures> = rounds.iter().map(|r| r.auto).collect();
        Self {
            peer: median_by(&peers, |p| p.records_per_s),
            never: median_by(&nevers, |p| p.records_per_s),
            auto: median_by(&autos, |p| p.records_per_s),
            rounds,
        }
    }
}

/// One consumer round on the same topic.
#[derive(Debug, Clone, Copy, Serialize, schemars::JsonSchema)]
pub struct ConsumerRound {
    pub peer: PeerConsume,
    pub ours: ConsumeFigures,
}

/// The consumers: the median round of each side, and every round.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ConsumerSection {
    pub peer: PeerConsume,
    pub ours: ConsumeFigures,
    pub rounds: Vec<ConsumerRound>,
}

impl ConsumerSection {
    /// `rounds` must not be empty.
    pub fn from_rounds(rounds: Vec<ConsumerRound>) -> Self {
        let peers: Vec<PeerConsume> = rounds.iter().map(|r| r.peer).collect();
        let ours: Vec<ConsumeFigures> = rounds.iter().map(|r| r.ours).collect();
        Self { peer: median_by(&peers, |p| p.fetch_records_per_s), ours: median_by(&ours, |o| o.fetch_records_per_s), rounds }
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct LatencySection {
    pub peer: PeerLatency,
    pub latency_profile: LatencyFigures,
    pub throughput_profile: LatencyFigures,
}

/// Whether a higher or a lower ratio is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    Higher,
    Lower,
}

/// One line of the table.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Comparison {
    pub what: String,
    pub unit: &'static str,
    pub peer: f64,
    pub ours: f64,
    /// ours / peer.
    pub ratio: f64,
    /// The bar for the ratio; `None`: reported, not judged.
    pub bar: Option<f64>,
    pub better: Better,
    /// Whether the ratio meets the bar (`None` without a bar).
    pub meets: Option<bool>,
}

impl Comparison {
    fn new(what: impl Into<String>, unit: &'static str, peer: f64, ours: f64, bar: Option<f64>, better: Better) -> Self {
        let ratio = if peer > 0.0 { ours / peer } else { f64::NAN };
        let meets = bar.map(|bar| match better {
            Better::Higher => ratio >= bar,
            Better::Lower => ratio <= bar,
        });
        Self { what: what.into(), unit, peer, ours, ratio, bar, better, meets }
    }
}

/// Where the run happened.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Machine {
    pub cpus: usize,
    pub cpu: String,
    pub kafka_image: String,
    /// How dashstream's clients reach the broker (Kafka's tools run inside its container).
    pub route: String,
}

impl Machine {
    /// This machine, running `kafka_image`, reached by `route`.
    pub fn here(kafka_image: String, route: String) -> Self {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| s.lines().find_map(|l| l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())))
            .unwrap_or_else(|| "unknown".into());
        Self { cpus: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1), cpu, kafka_image, route }
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct BenchReport {
    /// UTC, RFC 3339.
    pub date: String,
    pub machine: Machine,
    pub options: BenchOptions,
    pub comparisons: Vec<Comparison>,
    pub producer: ProducerSection,
    pub consumer: ConsumerSection,
    pub latency: LatencySection,
    pub dead_letter: DeadLetterFigures,
    pub compression: Vec<CompressionCell>,
}

impl BenchReport {
    pub fn new(
        machine: Machine,
        options: BenchOptions,
        producer: ProducerSection,
        consumer: ConsumerSection,
        latency: LatencySection,
        dead_letter: DeadLetterFigures,
        compression: Vec<CompressionCell>,
    ) -> Self {
        let comparisons = comparisons(&producer, &consumer, &latency, &dead_letter);
        let date = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
        Self { date, machine, options, comparisons, producer, consumer, latency, dead_letter, compression }
    }

    /// Every bar met.
    pub fn meets_all(&self) -> bool {
        self.comparisons.iter().all(|c| c.meets != Some(false))
    }

    /// The comparisons and the compression cells as Markdown tables.
    pub fn table(&self) -> String {
        let m = &self.machine;
        let mut t = format!("dashstream bench, {} ({} x {}, {}); dashstream reaches the broker {}\n\n", self.date, m.cpus, m.cpu, m.kafka_image, m.route);
        t.push_str("| what | Kafka's tool | dashstream | ratio | bar | |\n|---|---|---|---|---|---|\n");
        for c in &self.comparisons {
            let op = if c.better == Better::Higher { ">=" } else { "<=" };
            let bar = c.bar.map(|b| format!("{op} {b}")).unwrap_or_else(|| "-".into());
            let mark = match c.meets {
                Some(true) => "meets",
                Some(false) => "MISSES",
                None => "reported",
            };
            t.push_str(&format!("| {} | {:.1} {} | {:.1} {} | {:.2} | {bar} | {mark} |\n", c.what, c.peer, c.unit, c.ours, c.unit, c.ratio));
        }
        let per_round = |f: &dyn Fn(usize) -> f64, n: usize| (0..n).map(|i| format!("{:.2}", f(i))).collect::<Vec<_>>().join(", ");
        let (p, c) = (&self.producer.rounds, &self.consumer.rounds);
        t.push_str(&format!(
            "\nmedians of {} rounds; ratios per round: producer never {}, auto {}; consumer {}\n",
            p.len(),
            per_round(&|i| p[i].never.records_per_s / p[i].peer.records_per_s, p.len()),
            per_round(&|i| p[i].auto.records_per_s / p[i].peer.records_per_s, p.len()),
            per_round(&|i| c[i].ours.fetch_records_per_s / c[i].peer.fetch_records_per_s, c.len()),
        ));
        t.push_str("\n| size | compression | records/s | bytes on the broker per record |\n|---|---|---|---|\n");
        for c in &self.compression {
            t.push_str(&format!("| {} B | {} | {:.0} | {:.1} |\n", c.size, c.mode.as_str(), c.records_per_s, c.broker_bytes_per_record));
        }
        let l = &self.latency;
        t.push_str(&format!(
            "\npublish delay p99: {:.2} ms (latency profile), {:.2} ms (throughput profile); latency p50/p99 with the throughput profile: {:.2}/{:.2} ms\n",
            l.latency_profile.publish_delay.p99_ms, l.throughput_profile.publish_delay.p99_ms, l.throughput_profile.latency.p50_ms, l.throughput_profile.latency.p99_ms
        ));
        t
    }
}

fn comparisons(p: &ProducerSection, c: &ConsumerSection, l: &LatencySection, d: &DeadLetterFigures) -> Vec<Comparison> {
    use Better::{Higher, Lower};
    vec![
        Comparison::new("producer, --compress never", "rec/s", p.peer.records_per_s, p.never.records_per_s, Some(1.0), Higher),
        Comparison::new("producer, --compress auto", "rec/s", p.peer.records_per_s, p.auto.records_per_s, Some(1.0), Higher),
        Comparison::new("consumer after the group join", "rec/s", c.peer.fetch_records_per_s, c.ours.fetch_records_per_s, Some(1.0), Higher),
        Comparison::new("consumer including the group join", "rec/s", c.peer.records_per_s, c.ours.records_per_s, None, Higher),
        Comparison::new("group join", "ms", c.peer.join_ms, c.ours.join_ms, None, Lower),
        Comparison::new("latency p50 (latency profile) vs the peer's average", "ms", l.peer.avg_ms, l.latency_profile.latency.p50_ms, Some(1.5), Lower),
        Comparison::new("latency p99 (latency profile)", "ms", l.peer.p99_ms, l.latency_profile.latency.p99_ms, Some(1.5), Lower),
        Comparison::new("latency p99 (throughput profile)", "ms", l.peer.p99_ms, l.throughput_profile.latency.p99_ms, None, Lower),
        Comparison::new("dead-lettered vs good records", "rec/s", d.good_per_s, d.poison_per_s, Some(0.5), Higher),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_middle_value_whatever_the_order() {
        assert_eq!(median_by(&[3.0, 1.0, 2.0], |x| *x), 2.0);
        assert_eq!(median_by(&[4.0, 1.0, 3.0, 2.0], |x| *x), 2.0);
        assert_eq!(median_by(&[7.0], |x| *x), 7.0);
    }

    #[test]
    fn a_ratio_meets_its_bar_in_the_right_direction() {
        let meets = |peer, ours, bar, better| Comparison::new("x", "u", peer, ours, Some(bar), better).meets;
        assert_eq!(meets(100.0, 100.0, 1.0, Better::Higher), Some(true));
        assert_eq!(meets(100.0, 99.0, 1.0, Better::Higher), Some(false));
        assert_eq!(meets(2.0, 3.0, 1.5, Better::Lower), Some(true));
        assert_eq!(meets(2.0, 3.1, 1.5, Better::Lower), Some(false));
        assert_eq!(meets(0.0, 3.1, 1.5, Better::Lower), Some(false), "no peer figure is no pass");
        assert_eq!(Comparison::new("x", "u", 1.0, 2.0, None, Better::Lower).meets, None);
    }
}
