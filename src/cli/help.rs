//! What each value of a flag means, as `--help` says it: one line per model,
//! backend, preset, split. The library names the values (`rnnlm::choice`);
//! what they mean on a command line is the binary's.

use super::bench::Preset;
use rnnlm::arch::{ModelKind, Seq2seqKind};
use rnnlm::backend::Backend;
use rnnlm::choice::Choice;
use rnnlm::data::corpus::Split;
use rnnlm::data::sequence::SequenceSet;
use rnnlm::train::{ClipMode, OptimizerKind, TrainPreset};

/// A value picked by name on the command line, with its line in `--help`.
pub(crate) trait Help: Choice {
    fn about(self) -> &'static str;
}

impl Help for ClipMode {
    fn about(self) -> &'static str {
        match self {
            ClipMode::Global => "One norm over all gradients together, as the book's `clip_grads`",
            ClipMode::PerTensor => "Each tensor by its own norm (Burn's `GradientClippingConfig::Norm`)",
        }
    }
}

impl Help for OptimizerKind {
    fn about(self) -> &'static str {
        match self {
            OptimizerKind::Adam => "The book's Adam (chapter 5)",
            OptimizerKind::Sgd => "The book's SGD, `param -= lr·grad` (chapter 6)",
        }
    }
}

impl Help for TrainPreset {
    fn about(self) -> &'static str {
        match self {
            TrainPreset::Ch5 => "Chapter 5's notebook: SimpleRnnlm, Adam, the first 10,000 words",
            TrainPreset::Ch6Rnnlm => {
                "`ch06/train_rnnlm.py`: Rnnlm (LSTM 100/100), SGD lr 20, clip 0.25, batches of 20 x 35, the whole corpus, 4 epochs"
            }
            TrainPreset::Ch6Better => {
                "`ch06/train_better_rnnlm.py`: BetterRnnlm (650/650, dropout 0.5, tied), SGD lr 20 divided by 4 whenever validation does not improve, 40 epochs"
            }
        }
    }
}

impl Help for Split {
    fn about(self) -> &'static str {
        match self {
            Split::Train => "the training split (ptb.train.txt, train.txt), the words the model learns from",
            Split::Valid => "the validation split (ptb.valid.txt, valid.txt), scored after every epoch",
            Split::Test => "the test split (ptb.test.txt, test.txt), held out for the final score",
        }
    }
}

impl Help for Backend {
    fn about(self) -> &'static str {
        match self {
            Backend::Flex => "CPU, through Flex, Burn's pure-Rust CPU backend (cargo feature `flex`): the fastest here",
            Backend::Ndarray => {
                "CPU, through burn-ndarray (cargo feature `ndarray`), deprecated upstream in favour of Flex"
            }
            Backend::Wgpu => "GPU, through burn-wgpu (cargo feature `wgpu`): Vulkan, Metal or DX12",
        }
    }
}

impl Help for Preset {
    fn about(self) -> &'static str {
        match self {
            Preset::Seed => "The notebook's: N 10, T 5, D = H 100, V 10,000",
            Preset::Big => "A medium model: N 20, T 35, D = H 650, V 10,000",
            Preset::Ch6 => "`ch06/train_rnnlm.py`'s: N 20, T 35, D = H 100, V 10,000",
        }
    }
}

impl Help for ModelKind {
    fn about(self) -> &'static str {
        match self {
            ModelKind::Rnn => "Chapter 5's SimpleRnnlm: one RNN layer",
            ModelKind::Lstm => "Chapter 6's Rnnlm: one LSTM layer",
            ModelKind::Gru => "Rnnlm with a GRU layer instead",
            ModelKind::BetterLstm => "Chapter 6's BetterRnnlm: two LSTM layers, dropout, affine tied to the embedding",
        }
    }
}

impl Help for Seq2seqKind {
    fn about(self) -> &'static str {
        match self {
            Seq2seqKind::Seq2seq => {
                "`ch07/seq2seq.py`: an LSTM encoder, an LSTM decoder started from its last h (chapter 7)"
            }
            Seq2seqKind::PeekySeq2seq => {
                "`ch07/peeky_seq2seq.py`: the decoder also reads the encoder's h at every step and in its affine layer"
            }
            Seq2seqKind::AttentionSeq2seq => {
                "`ch08/attention_seq2seq.py`: at each step the decoder reads a weighted sum of every encoder state (chapter 8)"
            }
            Seq2seqKind::BiAttentionSeq2seq => {
                "attention-seq2seq whose encoder reads the question both ways, the two states summed (section 8.4.1)"
            }
        }
    }
}

impl Help for SequenceSet {
    fn about(self) -> &'static str {
        match self {
            SequenceSet::Addition => "addition.txt: 50,000 sums such as \"16+75\" and their answers (chapter 7)",
            SequenceSet::Date => "date.txt: 50,000 dates written many ways, answered as 1994-09-27 (chapter 8)",
        }
    }
}
