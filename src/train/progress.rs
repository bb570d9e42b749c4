//! How a run shows its progress: Burn's terminal dashboard when stdout is a
//! terminal, else one `| epoch N | ...` line per epoch.

use burn::train::logger::{EvaluationProgressLogger, MetricLogger, TrainingProgressLogger};
use burn::train::metric::store::{EpochSummary, MetricsUpdate, Split};
use burn::train::metric::{MetricDefinition, NumericEntry};
use burn::train::renderer::{
    EvaluationName, MetricState, MetricsRenderer, MetricsRendererEvaluation, MetricsRendererTraining,
};

/// The renderer used when stdout is not a terminal: Burn's fallback prints a
/// progress line per iteration and no metric values; this prints nothing, and
/// the training prints one summary line per epoch instead.
pub(super) struct EpochLinesOnly;

impl MetricsRendererTraining for EpochLinesOnly {
    fn update_train(&mut self, _state: MetricState) {}
    fn update_valid(&mut self, _state: MetricState) {}
}

impl MetricsRendererEvaluation for EpochLinesOnly {
    fn update_test(&mut self, _name: EvaluationName, _state: MetricState) {}
}

impl TrainingProgressLogger for EpochLinesOnly {
    fn start(&mut self, _: usize, _: usize, _: Option<usize>, _: Option<&str>) {}
    fn update_epoch(&mut self, _: usize) {}
    fn start_split(&mut self, _: &str, _: usize) {}
    fn update_split(&mut self, _: usize) {}
    fn end_split(&mut self) {}
    fn end(&mut self) {}
    fn log_event_training(&mut self, _: String) {}
}

impl EvaluationProgressLogger for EpochLinesOnly {
    fn start_global_progress(&mut self, _: usize) {}
    fn start_test(&mut self, _: &str, _: usize) {}
    fn update_test_progress(&mut self, _: usize) {}
    fn end_test(&mut self) {}
    fn end_global_progress(&mut self) {}
    fn log_event_evaluation(&mut self, _: String) {}
}

impl MetricsRenderer for EpochLinesOnly {
    fn manual_close(&mut self) {}
    fn register_metric(&mut self, _definition: MetricDefinition) {}
}

/// burn-train's default metric logger writes `train/` and `valid/` folders
/// of per-iteration logs into the run folder, in place, and panics on a
/// failed write. A run keeps its metrics in `metrics.csv` (written whole,
/// atomically, with its own one-line error), so this logger, registered in
/// its place, keeps nothing: nothing in a run reads burn-train's logs back.
pub(super) struct MetricsCsvOnly;

impl MetricLogger for MetricsCsvOnly {
    fn log(&mut self, _update: MetricsUpdate, _epoch: usize, _split: &Split) {}
    fn read_numeric(&mut self, name: &str, _epoch: usize, _split: &Split) -> Result<Vec<NumericEntry>, String> {
        Err(format!("{name} is not logged by burn-train here: the run's metrics are in metrics.csv"))
    }
    fn log_metric_definition(&mut self, _definition: MetricDefinition) {}
    fn log_epoch_summary(&mut self, _summary: EpochSummary) {}
}

/// How `train` shows progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Burn's terminal dashboard (stdout is a terminal).
    Dashboard,
    /// One `| epoch N | ...` line per epoch.
    EpochLines,
}
