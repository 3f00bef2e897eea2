//! Running the conformance suite on one or more backends, one after the other, and
//! writing the reports: JUnit XML, Cucumber JSON and cucumber's own console
//! output per backend, the run history, plus one Markdown and one
//! self-contained HTML report (`conformance::report`).

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use cucumber::event::ScenarioFinished;
use cucumber::gherkin::tagexpr::TagOperation;
use cucumber::writer::{self, Stats as _};
use cucumber::tag::Ext as _;
use cucumber::{World as _, WriterExt as _};
use crate::broker::{factory, Broker, BrokerKind, ConnectionArgs};
use crate::faults::inject::Injector;

use super::evidence::{self, ScenarioRecord};
use super::outcomes;
use super::report::{self, history, ReportInput};
use super::pipeline::Pipeline;
use super::world::{DashWorld, SuiteEnv};

/// Scenarios run at once. The mock cluster's run waits more than it computes:
/// with 8 slots its last short scenarios started 10.5 s in, behind the fault
/// scenarios, and the run took 11.5 to 14 s; with 16, 7.9 to 9.6 s (2026-12-07).
/// The container run is bound by CPU and took 83 s with 16, 87 s with 8 (2026-11-29).
pub const DEFAULT_CONCURRENCY: usize = 16;

/// Called with each scenario's record as it finishes.
pub type OnScenario = Arc<dyn Fn(&ScenarioRecord) + Send + Sync>;

/// What to run.
pub struct SuiteOptions {
    /// The backends, run one after the other (`Auto` already resolved).
    pub backends: Vec<BrokerKind>,
    /// Bootstrap servers and librdkafka settings (`--bootstrap`, `-X`).
    pub connection: ConnectionArgs,
    /// Cucumber tag expression, e.g. `not @fault`.
    pub tags: Option<String>,
    /// Only the scenarios with these names (all when `None`).
    pub scenarios: Option<Vec<String>>,
    pub report_dir: PathBuf,
    pub features: PathBuf,
    pub pipeline: Arc<dyn Pipeline>,
    /// Who performs the fault scenarios' broker actions.
    pub injector: Arc<dyn Injector>,
    pub scan_roots: Vec<PathBuf>,
    /// The `dashstream` binary, for scenarios that run the shipped commands.
    pub cli: Option<PathBuf>,
    pub concurrency: usize,
    /// Goes into report file names: `reference`, or a replica's name.
    pub label: String,
    /// Called with each scenario's record as it finishes (the console's line).
    pub on_scenario: Option<OnScenario>,
    /// Whether this run goes into `history-<label>.jsonl` (the replicas' runs do not).
    pub record_history: bool,
}

/// One backend's outcome.
#[derive(Debug, Clone)]
pub struct BackendResult {
    pub backend: BrokerKind,
    pub broker: String,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub failed_run: bool,
    /// The backend could not even start (no Docker host, ...).
    pub error: Option<String>,
    pub seconds: f64,
    /// Of `seconds`, how long opening the broker took (a container starting, say).
    pub opening_seconds: f64,
}

/// The whole run.
#[derive(Debug, Clone, Default)]
pub struct SuiteResult {
    pub backends: Vec<BackendResult>,
    pub records: Vec<ScenarioRecord>,
    /// The last runs, this one included (empty without `record_history`).
    pub history: Vec<history::Run>,
}

impl SuiteResult {
    pub fn passed(&self) -> bool {
        let ran: usize = self.backends.iter().map(|b| b.passed + b.failed + b.skipped).sum();
        ran > 0 && self.backends.iter().all(|b| b.error.is_none() && !b.failed_run && b.failed == 0 && b.skipped == 0)
    }

    /// The summary, then each backend's critical path: the report's opening lines.
    pub fn report_summary(&self) -> Vec<String> {
        let mut lines = self.summary();
        let timings: Vec<evidence::BackendTiming> = self
            .backends
            .iter()
            .map(|b| evidence::BackendTiming { backend: b.backend.to_string(), wall: b.seconds, opening: b.opening_seconds })
            .collect();
        lines.extend(evidence::critical_path(&self.records, &timings));
        lines
    }

    /// One line per backend; the first says which broker ran.
    pub fn summary(&self) -> Vec<String> {
        self.backends
            .iter()
            .map(|b| match &b.error {
                Some(e) => format!("{}: could not start: {}", b.backend, e.lines().next().unwrap_or_default()),
                None => format!(
                    "{}: {} — {} scenarios passed, {} failed, {} skipped in {:.1} s",
                    b.backend, b.broker, b.passed, b.failed, b.skipped, b.seconds
                ),
            })
            .collect()
    }
}

#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Scenarios tagged `@<backend>-only` run on that backend only.
fn wanted(backend: BrokerKind, tags: &[&String], filter: Option<&TagOperation>) -> bool {
    let only: Vec<&str> = tags.iter().filter_map(|t| t.strip_suffix("-only")).collect();
    if !only.is_empty() && !only.contains(&backend.as_str()) {
        return false;
    }
    filter.is_none_or(|f| f.eval(tags.iter().map(|t| t.as_str())))
}

impl BackendResult {
    fn new(backend: BrokerKind) -> Self {
        Self { backend, broker: String::new(), passed: 0, failed: 0, skipped: 0, failed_run: true, error: None, seconds: 0.0, opening_seconds: 0.0 }
    }
}

/// Where one backend's machine-readable reports go.
struct ReportFiles {
    junit: std::fs::File,
    json: std::fs::File,
    json_path: PathBuf,
    console_path: PathBuf,
}

impl ReportFiles {
    fn create(opts: &SuiteOptions, backend: BrokerKind) -> Result<Self, String> {
        let stem = format!("{}-{}", opts.label, backend);
        let create = |name: String| std::fs::File::create(opts.report_dir.join(&name)).map_err(|e| format!("cannot write {name} in {}: {e}", opts.report_dir.display()));
        Ok(Self {
            junit: create(format!("junit-{stem}.xml"))?,
            json: create(format!("cucumber-{stem}.json"))?,
            json_path: opts.report_dir.join(format!("cucumber-{stem}.json")),
            console_path: opts.report_dir.join(format!("cucumber-{stem}.txt")),
        })
    }
}

/// Routes of their own that the shared container broker can lend to the
/// scenarios whose fault is the network in front of one broker (latency,
/// bandwidth cap, reset storm: three), and one to spare. A scenario that finds
/// none left gets a broker of its own.
const SPARE_ROUTES: usize = 4;

async fn run_backend(backend: BrokerKind, opts: &SuiteOptions) -> (BackendResult, Vec<ScenarioRecord>) {
    let started = Instant::now();
    let mut result = BackendResult::new(backend);
    let prepared = async {
        let filter = opts.tags.as_deref().map(str::parse::<TagOperation>).transpose().map_err(|e| format!("bad tag expression: {e}"))?;
        let files = ReportFiles::create(opts, backend)?;
        let opened = factory::open_shared(backend, &opts.connection, SPARE_ROUTES).await;
        let broker: Arc<dyn Broker> = Arc::from(opened.map_err(|e| e.to_string())?);
        Ok::<_, String>((filter, files, broker))
    };
    let (filter, files, broker) = match prepared.await {
        Ok(p) => p,
        Err(e) => {
            result.error = Some(e);
            return (result, Vec::new());
        }
    };
    result.broker = broker.describe();
    result.opening_seconds = started.elapsed().as_secs_f64();
    let env = Arc::new(SuiteEnv {
        backend,
        broker: broker.clone(),
        pipeline: opts.pipeline.clone(),
        injector: opts.injector.clone(),
        scan_roots: opts.scan_roots.clone(),
        cli: opts.cli.clone(),
        connection: opts.connection.clone(),
    });
    let records: Arc<Mutex<Vec<ScenarioRecord>>> = Arc::default();
    let console = SharedBuf::default();
    let (json_path, console_path) = (files.json_path.clone(), files.console_path.clone());
    result.failed_run = run_cucumber(env, opts, filter, files, records.clone(), console.clone()).await;
    let mut recs = records.lock().unwrap_or_else(|p| p.into_inner()).clone();
    attach_steps(&mut recs, &json_path);
    result.passed = recs.iter().filter(|r| r.status == "passed").count();
    result.failed = recs.iter().filter(|r| r.status == "failed").count();
    result.skipped = recs.iter().filter(|r| r.status == "skipped").count();
    // Cucumber's own console output is kept in a file: the caller prints one line per scenario.
    let cucumber_output = console.0.lock().unwrap_or_else(|p| p.into_inner()).clone();
    if let Err(e) = std::fs::write(&console_path, cucumber_output) {
        tracing::warn!("cannot write {}: {e}", console_path.display());
    }
    result.seconds = started.elapsed().as_secs_f64();
    drop(broker); // removes the container, inside the runtime
    (result, recs)
}

/// Gives each record its steps as they ran, from the backend's Cucumber JSON.
fn attach_steps(records: &mut [ScenarioRecord], json: &std::path::Path) {
    match outcomes::scenario_steps(json) {
        Ok(all) => {
            for ((feature, line), steps) in all {
                if let Some(r) = records.iter_mut().find(|r| r.feature == feature && r.line == line) {
                    r.steps = steps;
                }
            }
        }
        Err(e) => tracing::warn!("the report shows no steps: {e}"),
    }
}

/// A Scenario Outline example named by its values: "name (offset +5 s, skew ...)".
fn display_name(scenario: &cucumber::gherkin::Scenario) -> String {
    let table = scenario.examples.first().and_then(|e| e.table.as_ref());
    match table.map(|t| (t.rows.first(), t.rows.get(1))) {
        Some((Some(header), Some(values))) => {
            // Values the name already shows (through a <placeholder>) are not repeated.
            let pairs: Vec<String> = header.iter().zip(values).filter(|(_, v)| !scenario.name.contains(v.as_str())).map(|(h, v)| format!("{h} {v}")).collect();
            if pairs.is_empty() {
                scenario.name.clone()
            } else {
                format!("{} ({})", scenario.name, pairs.join(", "))
            }
        }
        _ => scenario.name.clone(),
    }
}

/// The scenario's record, from how it finished and what its World holds.
fn record_of(backend: BrokerKind, feature: &cucumber::gherkin::Feature, scenario: &cucumber::gherkin::Scenario, finished: &ScenarioFinished, w: Option<&mut DashWorld>) -> ScenarioRecord {
    let (status, error) = match finished {
        ScenarioFinished::StepPassed => ("passed", None),
        ScenarioFinished::StepSkipped => ("skipped", Some("a step did not run (undefined or skipped)".to_string())),
        ScenarioFinished::StepFailed(_, _, e) => ("failed", Some(e.to_string())),
        ScenarioFinished::BeforeHookFailed(_) => ("failed", Some("before hook failed".to_string())),
    };
    let evidence = w.as_deref().map(evidence::collect).unwrap_or_default();
    let seconds = w.as_deref().and_then(|w| w.started).map_or(0.0, |t| t.elapsed().as_secs_f64());
    if let Some(w) = w {
        w.consumer = None; // stops a consumer that a failed scenario left running
        w.own_broker = None; // removes the scenario's own container now, not at the end of the run
    }
    ScenarioRecord {
        backend: backend.to_string(),
        feature: feature.name.clone(),
        feature_file: feature.path.as_deref().and_then(|p| p.file_name()).map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
        scenario: display_name(scenario),
        line: scenario.position.line,
        steps: Vec::new(),
        status: status.to_string(),
        error,
        seconds,
        serial: scenario.tags.iter().chain(&feature.tags).any(|t| t == "serial"),
        evidence,
    }
}

/// Runs the features on one backend; returns whether cucumber saw the run fail.
async fn run_cucumber(
    env: Arc<SuiteEnv>,
    opts: &SuiteOptions,
    filter: Option<TagOperation>,
    files: ReportFiles,
    records: Arc<Mutex<Vec<ScenarioRecord>>>,
    console: SharedBuf,
) -> bool {
    let backend = env.backend;
    let names = opts.scenarios.clone();
    let on_scenario = opts.on_scenario.clone();
    let writer = DashWorld::cucumber()
        .max_concurrent_scenarios(opts.concurrency)
        .fail_on_skipped()
        .before(move |_, _, _, w| {
            w.env = Some(env.clone());
            w.started = Some(Instant::now());
            Box::pin(async {})
        })
        .after(move |feature, _, scenario, finished, w| {
            let record = record_of(backend, feature, scenario, finished, w);
            if let Some(f) = &on_scenario {
                f(&record);
            }
            records.lock().unwrap_or_else(|p| p.into_inner()).push(record);
            Box::pin(async {})
        })
        .with_writer(
            writer::Basic::raw(console, writer::Coloring::Never, 0)
                .summarized()
                .tee::<DashWorld, _>(writer::JUnit::for_tee(files.junit, 0))
                .tee::<DashWorld, _>(writer::Json::for_tee(files.json))
                .normalized(),
        )
        // After with_writer (which resets it): never parse the process's own arguments.
        .with_cli(cucumber::cli::Opts::<_, _, _, cucumber::cli::Empty>::default())
        .filter_run(opts.features.clone(), move |feature, rule, scenario| {
            let tags: Vec<&String> = feature.tags.iter().chain(rule.iter().flat_map(|r| r.tags.iter())).chain(scenario.tags.iter()).collect();
            names.as_ref().is_none_or(|n| n.contains(&scenario.name)) && wanted(backend, &tags, filter.as_ref())
        })
        .await;
    writer.execution_has_failed()
}

/// Runs every backend in turn and writes the reports.
pub async fn run(opts: &SuiteOptions) -> SuiteResult {
    let _ = std::fs::create_dir_all(&opts.report_dir);
    // One backend after the other: timing scenarios (@serial) must not share
    // two cores with another backend's traffic.
    let mut out = SuiteResult::default();
    for b in &opts.backends {
        let (r, recs) = run_backend(*b, opts).await;
        out.backends.push(r);
        out.records.extend(recs);
    }
    out.records.sort_by(|a, b| (&a.backend, &a.feature, &a.line).cmp(&(&b.backend, &b.feature, &b.line)));
    if opts.record_history {
        let path = history_path(&opts.report_dir, &opts.label);
        let brokers = out.backends.iter().map(|b| if b.broker.is_empty() { b.backend.to_string() } else { b.broker.clone() }).collect();
        if let Err(e) = history::append(&path, &history::Run::new(&history::current_commit(&opts.features), brokers, &out.records)) {
            tracing::warn!("cannot append to {}: {e}", path.display());
        }
        out.history = history::last(&path, history::SHOWN_RUNS);
    }
    let summary = out.report_summary();
    let input = ReportInput { label: &opts.label, records: &out.records, summary: &summary, replicas: None, history: &out.history, original_bugs: true };
    if let Err(e) = report::write(&opts.report_dir, &input) {
        tracing::warn!("cannot write the reports in {}: {e}", opts.report_dir.display());
    }
    out
}

/// Where a label's run history is kept.
pub fn history_path(report_dir: &std::path::Path, label: &str) -> PathBuf {
    report_dir.join(format!("history-{label}.jsonl"))
}
