//! What a model is, in words every part of the crate reads: the cell
//! ([`CellKind`]), the parameters' sizes and names ([`Architecture`]), and the
//! book's four models ([`ModelKind`]). The Burn model, the reference and the
//! weight files all describe a model this way; none of them owns it.

use serde::{Deserialize, Serialize};

use crate::choice::{Choice, display_as_name};

/// The most parameters a model may have: 2^31, 8 GiB of float32 (training
/// holds three more copies: the gradients and Adam's two moments). A size
/// read from a file or a flag beyond it is an error before anything is
/// allocated or written.
pub const MAX_PARAMETERS: usize = 1 << 31;

/// The most recurrent layers a language model may stack (the book stacks two).
pub const MAX_LAYERS: usize = 64;

/// How many values tensors of these shapes hold, if at most [`MAX_PARAMETERS`].
fn bounded_count(shapes: &[(String, Vec<usize>)]) -> Option<usize> {
    let mut total: u128 = 0;
    for (_, shape) in shapes {
        let n = shape.iter().try_fold(1u128, |n, &d| n.checked_mul(d as u128))?;
        total = total.checked_add(n)?;
    }
    usize::try_from(total).ok().filter(|&n| n <= MAX_PARAMETERS)
}

/// Every size at most `u32::MAX`, so that the shapes' products (four gates
/// times H, two sizes multiplied) cannot overflow before they are counted.
fn sizes_fit(sizes: &[usize]) -> bool {
    sizes.iter().all(|&n| n <= u32::MAX as usize)
}

/// The recurrent layer of a language model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CellKind {
    /// `h' = tanh(h·Wh + x·Wx + b)` (chapter 5).
    Rnn,
    /// Long short-term memory, gates f, g, i, o (chapter 6).
    Lstm,
    /// Gated recurrent unit, gates z, r, h̃ (the book's appendix).
    Gru,
}

impl CellKind {
    /// How many H-wide blocks the packed `Wx`, `Wh` and `b` hold.
    pub fn gates(self) -> usize {
        match self {
            CellKind::Rnn => 1,
            CellKind::Lstm => 4,
            CellKind::Gru => 3,
        }
    }

    /// The name of the layer's parameters (`rnn.Wx`, `lstm.Wx`, `gru.Wx`).
    pub fn name(self) -> &'static str {
        match self {
            CellKind::Rnn => "rnn",
            CellKind::Lstm => "lstm",
            CellKind::Gru => "gru",
        }
    }
}

impl std::fmt::Display for CellKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything that decides which parameters a model has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Architecture {
    /// The recurrent cell of every layer.
    pub cell: CellKind,
    /// V: number of words.
    pub vocab_size: usize,
    /// D: size of a word vector.
    pub wordvec_size: usize,
    /// H: size of the hidden state.
    pub hidden_size: usize,
    /// Recurrent layers stacked (BetterRnnlm: 2).
    pub layers: usize,
    /// The affine layer reuses the embedding matrix, transposed (needs D = H).
    pub tied: bool,
}

impl Architecture {
    /// One recurrent layer, untied: `SimpleRnnlm` (rnn) and chapter 6's `Rnnlm` (lstm).
    pub fn single(cell: CellKind, vocab_size: usize, wordvec_size: usize, hidden_size: usize) -> Self {
        Self { cell, vocab_size, wordvec_size, hidden_size, layers: 1, tied: false }
    }

    /// Refuses shapes that cannot be built.
    pub fn validate(&self) -> crate::Result<()> {
        if self.vocab_size == 0 || self.wordvec_size == 0 || self.hidden_size == 0 || self.layers == 0 {
            return Err(crate::Error::Weights(format!(
                "every size must be at least 1 (V={} D={} H={} layers {})",
                self.vocab_size, self.wordvec_size, self.hidden_size, self.layers
            )));
        }
        let (v, d, h, layers) = (self.vocab_size, self.wordvec_size, self.hidden_size, self.layers);
        if layers > MAX_LAYERS || !sizes_fit(&[v, d, h]) || bounded_count(&self.params()).is_none() {
            return Err(crate::Error::Weights(format!(
                "V={v} D={d} H={h} with {layers} layer{} is more than a model may be: at most {MAX_LAYERS} layers \
                 and {MAX_PARAMETERS} parameters",
                if layers == 1 { "" } else { "s" }
            )));
        }
        if self.tied && self.wordvec_size != self.hidden_size {
            return Err(crate::Error::setting(
                "wordvec_size",
                format!(
                    "must equal the hidden size for tied weights (the affine layer is the embedding transposed), not D={} H={}",
                    self.wordvec_size, self.hidden_size
                ),
            ));
        }
        Ok(())
    }

    /// The name of recurrent layer `k` (0-based): `lstm` alone, `lstm1`, `lstm2` stacked.
    pub fn layer_name(&self, k: usize) -> String {
        match self.layers {
            1 => self.cell.name().to_string(),
            _ => format!("{}{}", self.cell.name(), k + 1),
        }
    }

    /// Input size of recurrent layer `k`: D for the first, H above it.
    pub fn layer_input(&self, k: usize) -> usize {
        if k == 0 { self.wordvec_size } else { self.hidden_size }
    }

    /// Every parameter's name and shape, in the book's order (`model.params`
    /// after `remove_duplicate`): the embedding, each recurrent layer's
    /// `Wx, Wh, b`, then the affine layer's `W` (absent when tied) and `b`.
    pub fn params(&self) -> Vec<(String, Vec<usize>)> {
        let (v, d, h, g) = (self.vocab_size, self.wordvec_size, self.hidden_size, self.cell.gates());
        let mut p = vec![("embed.W".to_string(), vec![v, d])];
        for k in 0..self.layers {
            let name = self.layer_name(k);
            p.push((format!("{name}.Wx"), vec![self.layer_input(k), g * h]));
            p.push((format!("{name}.Wh"), vec![h, g * h]));
            p.push((format!("{name}.b"), vec![g * h]));
        }
        if !self.tied {
            p.push(("affine.W".to_string(), vec![h, v]));
        }
        p.push(("affine.b".to_string(), vec![v]));
        p
    }
}

/// Everything that decides which parameters an encoder-decoder (chapters 7
/// and 8) has: which of the book's models it is, and its sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seq2seqArch {
    /// V: number of characters.
    pub vocab_size: usize,
    /// D: size of a character vector.
    pub wordvec_size: usize,
    /// H: size of the hidden state.
    pub hidden_size: usize,
    /// Which model: plain, Peeky, attention, or attention over a
    /// bidirectional encoder.
    pub kind: Seq2seqKind,
}

impl Seq2seqArch {
    /// Every parameter's name and shape, in the book's `params` order: the
    /// encoder's, then the decoder's (gates f, g, i, o as for `lstm.*`).
    /// Peeky's decoder LSTM reads `[h, x]` and its affine layer `[h, h_t]`;
    /// attention's affine layer reads `[context, h_t]`. The bidirectional
    /// encoder's second LSTM, which reads the question back to front, comes
    /// after the first as in the book's `TimeBiLSTM.params`.
    pub fn params(&self) -> Vec<(String, Vec<usize>)> {
        let (v, d, h) = (self.vocab_size, self.wordvec_size, self.hidden_size);
        let mut p = vec![
            ("encoder.embed.W", vec![v, d]),
            ("encoder.lstm.Wx", vec![d, 4 * h]),
            ("encoder.lstm.Wh", vec![h, 4 * h]),
            ("encoder.lstm.b", vec![4 * h]),
        ];
        if self.kind.bidirectional() {
            p.push(("encoder.backward_lstm.Wx", vec![d, 4 * h]));
            p.push(("encoder.backward_lstm.Wh", vec![h, 4 * h]));
            p.push(("encoder.backward_lstm.b", vec![4 * h]));
        }
        p.extend([
            ("decoder.embed.W", vec![v, d]),
            ("decoder.lstm.Wx", vec![self.decoder_lstm_input(), 4 * h]),
            ("decoder.lstm.Wh", vec![h, 4 * h]),
            ("decoder.lstm.b", vec![4 * h]),
            ("decoder.affine.W", vec![self.affine_input(), v]),
            ("decoder.affine.b", vec![v]),
        ]);
        p.into_iter().map(|(name, shape)| (name.to_string(), shape)).collect()
    }

    /// The width of what the decoder's LSTM reads at each step: `D`, or
    /// Peeky's `[h, x]`, `H + D`.
    pub fn decoder_lstm_input(&self) -> usize {
        if self.kind.peeky() { self.hidden_size + self.wordvec_size } else { self.wordvec_size }
    }

    /// The width of what the decoder's affine layer reads at each step: `H`,
    /// or Peeky's `[h, h_t]` and attention's `[context, h_t]`, `2H`.
    pub fn affine_input(&self) -> usize {
        if self.kind.peeky() || self.kind.attention() { 2 * self.hidden_size } else { self.hidden_size }
    }

    /// The book's class name: `Seq2seq`, `PeekySeq2seq`, `AttentionSeq2seq`,
    /// or (beyond the book's scripts) `AttentionSeq2seq (bidirectional)`.
    pub fn model_name(&self) -> &'static str {
        self.kind.book_name()
    }

    /// Sizes that make a model: none zero.
    pub fn validate(&self) -> crate::Result<()> {
        if self.vocab_size == 0 || self.wordvec_size == 0 || self.hidden_size == 0 {
            return Err(crate::Error::Weights(format!("{self}: every size must be at least 1")));
        }
        let sizes = [self.vocab_size, self.wordvec_size, self.hidden_size];
        if !sizes_fit(&sizes) || bounded_count(&self.params()).is_none() {
            return Err(crate::Error::Weights(format!(
                "{self} is more than a model may be: at most {MAX_PARAMETERS} parameters"
            )));
        }
        Ok(())
    }
}

/// The book's encoder-decoders, by name (`--model`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Seq2seqKind {
    /// `ch07/seq2seq.py`.
    Seq2seq,
    /// `ch07/peeky_seq2seq.py`.
    PeekySeq2seq,
    /// `ch08/attention_seq2seq.py`.
    AttentionSeq2seq,
    /// `AttentionSeq2seq` whose encoder reads the question both ways
    /// (section 8.4.1), the two LSTMs' states summed.
    BiAttentionSeq2seq,
}

impl Seq2seqKind {
    /// All, in the book's order.
    pub const ALL: [Seq2seqKind; 4] = [
        Seq2seqKind::Seq2seq,
        Seq2seqKind::PeekySeq2seq,
        Seq2seqKind::AttentionSeq2seq,
        Seq2seqKind::BiAttentionSeq2seq,
    ];

    /// Whether the decoder peeks at the encoder's last `h` at every step.
    pub fn peeky(self) -> bool {
        self == Seq2seqKind::PeekySeq2seq
    }

    /// Whether the decoder attends to every encoder state.
    pub fn attention(self) -> bool {
        matches!(self, Seq2seqKind::AttentionSeq2seq | Seq2seqKind::BiAttentionSeq2seq)
    }

    /// Whether the encoder reads the question both ways.
    pub fn bidirectional(self) -> bool {
        self == Seq2seqKind::BiAttentionSeq2seq
    }

    /// The book's class name.
    pub fn book_name(self) -> &'static str {
        match self {
            Seq2seqKind::Seq2seq => "Seq2seq",
            Seq2seqKind::PeekySeq2seq => "PeekySeq2seq",
            Seq2seqKind::AttentionSeq2seq => "AttentionSeq2seq",
            Seq2seqKind::BiAttentionSeq2seq => "AttentionSeq2seq (bidirectional)",
        }
    }
}

impl Choice for Seq2seqKind {
    const NAMES: &'static [(Self, &'static str)] = &[
        (Seq2seqKind::Seq2seq, "seq2seq"),
        (Seq2seqKind::PeekySeq2seq, "peeky-seq2seq"),
        (Seq2seqKind::AttentionSeq2seq, "attention-seq2seq"),
        (Seq2seqKind::BiAttentionSeq2seq, "bi-attention-seq2seq"),
    ];
}

display_as_name!(Seq2seqKind);

impl std::fmt::Display for Seq2seqArch {
    /// `PeekySeq2seq V=13 D=16 H=128`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} V={} D={} H={}", self.model_name(), self.vocab_size, self.wordvec_size, self.hidden_size)
    }
}

impl std::fmt::Display for Architecture {
    /// `lstm V=10000 D=100 H=100`, `2 x lstm V=10000 D=650 H=650 tied`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.layers > 1 {
            write!(f, "{} x ", self.layers)?;
        }
        write!(f, "{} V={} D={} H={}", self.cell, self.vocab_size, self.wordvec_size, self.hidden_size)?;
        if self.tied {
            f.write_str(" tied")?;
        }
        Ok(())
    }
}

/// The book's models, by name (`--model`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// `SimpleRnnlm`: one RNN layer (chapter 5).
    Rnn,
    /// `Rnnlm`: one LSTM layer (chapter 6).
    Lstm,
    /// `Rnnlm` with a GRU in place of the LSTM (the book's appendix).
    Gru,
    /// `BetterRnnlm`: two LSTM layers, dropout and weight tying (chapter 6).
    BetterLstm,
}

impl ModelKind {
    /// Every model, in the book's order.
    pub const ALL: [ModelKind; 4] = [ModelKind::Rnn, ModelKind::Lstm, ModelKind::Gru, ModelKind::BetterLstm];

    /// The recurrent layer.
    pub fn cell(self) -> CellKind {
        match self {
            ModelKind::Rnn => CellKind::Rnn,
            ModelKind::Lstm | ModelKind::BetterLstm => CellKind::Lstm,
            ModelKind::Gru => CellKind::Gru,
        }
    }

    /// Which of the book's models has these parameters, if any.
    pub fn of(a: Architecture) -> Option<ModelKind> {
        ModelKind::ALL.into_iter().find(|k| (k.cell(), k.layers(), k.tied()) == (a.cell, a.layers, a.tied))
    }

    /// Recurrent layers stacked: two for BetterRnnlm, else one.
    pub fn layers(self) -> usize {
        if self == ModelKind::BetterLstm { 2 } else { 1 }
    }

    /// Whether the affine layer's weight is the embedding's, transposed.
    pub fn tied(self) -> bool {
        self == ModelKind::BetterLstm
    }

    /// The book's class name.
    pub fn book_name(self) -> &'static str {
        match self {
            ModelKind::Rnn => "SimpleRnnlm",
            ModelKind::Lstm => "Rnnlm",
            ModelKind::Gru => "Rnnlm (GRU)",
            ModelKind::BetterLstm => "BetterRnnlm",
        }
    }
}

impl Choice for ModelKind {
    const NAMES: &'static [(Self, &'static str)] = &[
        (ModelKind::Rnn, "rnn"),
        (ModelKind::Lstm, "lstm"),
        (ModelKind::Gru, "gru"),
        (ModelKind::BetterLstm, "better-lstm"),
    ];
}

display_as_name!(ModelKind);
