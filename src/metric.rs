//! Perplexity for burn-train's Learner, from the loss the model already computed;
//! and an encoder-decoder's answer accuracy ([`AnswerAccuracy`]).
//!
//! burn-train's `PerplexityMetric` recomputes a log-softmax over the logits of
//! every batch ([N·T, V]: 350 x 10,000 per validation batch here), work the
//! loss has already done. Perplexity is exp of the mean negative
//! log-likelihood per token, and the loss *is* that mean for one batch, so
//! this metric only needs the loss and the number of tokens.

use burn::tensor::{ExecutionError, Tensor, TensorReadError};
use burn::train::ItemLazy;
use burn::train::metric::{
    Adaptor, LossInput, Metric, MetricAttributes, MetricMetadata, MetricName, Numeric, NumericAttributes, NumericEntry,
    SerializedEntry, format_float,
};
use std::sync::Arc;

/// What a training or validation step hands to the metrics: the batch's mean
/// loss `[1]` and the number of tokens it averages over. (burn-train's
/// `SequenceOutput` would also hold on to the [N, T, V] scores, which no
/// metric here reads.)
pub struct LmOutput {
    /// The batch's mean loss, `[1]`.
    pub loss: Tensor<1>,
    /// The tokens it averages over.
    pub tokens: usize,
}

impl ItemLazy for LmOutput {
    fn sync(self) -> Result<Self, ExecutionError> {
        self.loss.device().flush()?;
        Ok(LmOutput { loss: self.loss.without_autodiff(), tokens: self.tokens })
    }
}

impl Adaptor<LossInput> for LmOutput {
    fn adapt(&self) -> LossInput {
        LossInput::new(self.loss.clone())
    }
}

/// What [`LossPerplexity`] reads.
pub struct MeanNll {
    loss: Tensor<1>,
    tokens: usize,
}

impl Adaptor<MeanNll> for LmOutput {
    fn adapt(&self) -> MeanNll {
        MeanNll { loss: self.loss.clone(), tokens: self.tokens }
    }
}

/// `exp(Σ nll / tokens)` over the epoch, logged as "Perplexity" (the name and
/// the values of burn-train's own metric, without its second log-softmax).
#[derive(Clone)]
pub struct LossPerplexity {
    name: MetricName,
    sum_nll: f64,
    tokens: usize,
    /// The last batch's perplexity and token count.
    current: (f64, usize),
}

impl Default for LossPerplexity {
    fn default() -> Self {
        Self { name: Arc::new("Perplexity".to_string()), sum_nll: 0.0, tokens: 0, current: (f64::NAN, 0) }
    }
}

impl LossPerplexity {
    /// A metric with nothing seen yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn epoch_value(&self) -> f64 {
        if self.tokens > 0 { (self.sum_nll / self.tokens as f64).exp() } else { f64::INFINITY }
    }
}

impl Metric for LossPerplexity {
    type Input = MeanNll;

    fn update(&mut self, input: &MeanNll, _metadata: &MetricMetadata) -> Result<SerializedEntry, TensorReadError> {
        let mean = input.loss.clone().try_into_scalar::<f64>()?;
        self.sum_nll += mean * input.tokens as f64;
        self.tokens += input.tokens;
        self.current = (mean.exp(), input.tokens);
        let formatted = format!(
            "{}: epoch {} - batch {}",
            self.name,
            format_float(self.epoch_value(), 2),
            format_float(self.current.0, 2)
        );
        let entry = NumericEntry::Aggregated { aggregated_value: self.current.0, count: self.current.1 };
        Ok(SerializedEntry::new(formatted, entry.serialize()))
    }

    fn compute(&mut self) -> Result<SerializedEntry, TensorReadError> {
        let value = self.epoch_value();
        Ok(SerializedEntry::new(
            format!("{}: epoch {}", self.name, format_float(value, 2)),
            NumericEntry::Final(value).serialize(),
        ))
    }

    fn clear(&mut self) {
        *self = Self { name: self.name.clone(), ..Self::default() };
    }

    fn name(&self) -> MetricName {
        self.name.clone()
    }

    fn attributes(&self) -> MetricAttributes {
        NumericAttributes { unit: None, higher_is_better: false }.into()
    }
}

impl Numeric for LossPerplexity {
    fn value(&self) -> Option<NumericEntry> {
        Some(NumericEntry::Aggregated { aggregated_value: self.current.0, count: self.current.1 })
    }

    fn running_value(&self) -> Option<NumericEntry> {
        Some(NumericEntry::Aggregated { aggregated_value: self.epoch_value(), count: self.tokens })
    }

    fn final_value(&self) -> NumericEntry {
        NumericEntry::Final(self.epoch_value())
    }
}

/// What a validation step of an encoder-decoder hands to the metrics: how
/// many of its questions were answered exactly, of how many.
pub struct AnswerOutput {
    /// Questions answered exactly.
    pub correct: usize,
    /// Questions asked.
    pub total: usize,
}

impl ItemLazy for AnswerOutput {
    fn sync(self) -> Result<Self, ExecutionError> {
        Ok(self)
    }
}

/// What [`AnswerAccuracy`] reads.
pub struct AnswerCounts {
    correct: usize,
    total: usize,
}

impl Adaptor<AnswerCounts> for AnswerOutput {
    fn adapt(&self) -> AnswerCounts {
        AnswerCounts { correct: self.correct, total: self.total }
    }
}

/// The share of questions answered exactly over the epoch, in percent,
/// logged as "Accuracy" (burn-train's `AccuracyMetric` counts single
/// classes, not whole answers).
#[derive(Clone)]
pub struct AnswerAccuracy {
    name: MetricName,
    correct: usize,
    total: usize,
    /// The last batch's accuracy and size.
    current: (f64, usize),
}

impl Default for AnswerAccuracy {
    fn default() -> Self {
        Self { name: Arc::new("Accuracy".to_string()), correct: 0, total: 0, current: (f64::NAN, 0) }
    }
}

impl AnswerAccuracy {
    /// A metric with nothing seen yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn epoch_value(&self) -> f64 {
        if self.total > 0 { 100.0 * self.correct as f64 / self.total as f64 } else { f64::NAN }
    }
}

impl Metric for AnswerAccuracy {
    type Input = AnswerCounts;

    fn update(&mut self, input: &AnswerCounts, _metadata: &MetricMetadata) -> Result<SerializedEntry, TensorReadError> {
        self.correct += input.correct;
        self.total += input.total;
        self.current = (100.0 * input.correct as f64 / input.total.max(1) as f64, input.total);
        let formatted = format!(
            "{}: epoch {} % - batch {} %",
            self.name,
            format_float(self.epoch_value(), 2),
            format_float(self.current.0, 2)
        );
        let entry = NumericEntry::Aggregated { aggregated_value: self.current.0, count: self.current.1 };
        Ok(SerializedEntry::new(formatted, entry.serialize()))
    }

    fn compute(&mut self) -> Result<SerializedEntry, TensorReadError> {
        let value = self.epoch_value();
        Ok(SerializedEntry::new(
            format!("{}: epoch {} %", self.name, format_float(value, 2)),
            NumericEntry::Final(value).serialize(),
        ))
    }

    fn clear(&mut self) {
        *self = Self { name: self.name.clone(), ..Self::default() };
    }

    fn name(&self) -> MetricName {
        self.name.clone()
    }

    fn attributes(&self) -> MetricAttributes {
        NumericAttributes { unit: Some("%".to_string()), higher_is_better: true }.into()
    }
}

impl Numeric for AnswerAccuracy {
    fn value(&self) -> Option<NumericEntry> {
        Some(NumericEntry::Aggregated { aggregated_value: self.current.0, count: self.current.1 })
    }

    fn running_value(&self) -> Option<NumericEntry> {
        Some(NumericEntry::Aggregated { aggregated_value: self.epoch_value(), count: self.total })
    }

    fn final_value(&self) -> NumericEntry {
        NumericEntry::Final(self.epoch_value())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::data::dataloader::Progress;
    use burn::tensor::TensorData;

    /// The epoch perplexity burn-train's dashboard shows (this metric's final
    /// value) is the one the run's `metrics.csv` holds: exp of the epoch's
    /// mean batch loss, the batches of a stream being of one size.
    #[test]
    fn the_dashboards_epoch_perplexity_is_the_runs() {
        let device = crate::backend::Backend::Flex.device().unwrap();
        let meta = MetricMetadata {
            progress: Progress { items_processed: 1, items_total: 3, unit: None },
            iteration: Some(0),
            lr: None,
        };
        let mut metric = LossPerplexity::new();
        let losses = [7.25f32, 6.5, 5.875];
        for &l in &losses {
            let loss = Tensor::<1>::from_data(TensorData::new(vec![l], [1]), &device);
            metric.update(&MeanNll { loss, tokens: 50 }, &meta).unwrap();
        }
        let NumericEntry::Final(value) = metric.final_value() else { panic!("a final value") };
        let mean = losses.iter().map(|&l| f64::from(l)).sum::<f64>() / 3.0;
        let row = crate::run::EpochMetrics::from_losses(1, mean, mean, 0.0);
        assert!((value / row.train_perplexity - 1.0).abs() < 1e-12, "{value} vs {}", row.train_perplexity);
    }
}
