//! The commands that ask a trained encoder-decoder (a run folder's or the
//! book's `AttentionSeq2seq.pkl`): `eval`, `answer` and `attention`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::Args;

use super::load;
use crate::cli::choice;
use crate::explain::Failure;
use rnnlm::backend::{self, Backend};
use rnnlm::data::sequence::{self, Ids, SequenceData, SequenceSet};
use rnnlm::infer::{count_correct, greedy_answers, teacher_forced_loss};
use rnnlm::model::Seq2seq;
use rnnlm::run::RunDir;
use rnnlm::train::seq2seq::{Seq2seqTrainConfig, load_trained_seq2seq};

/// Which trained encoder-decoder to use: a run folder's, or the book's.
#[derive(Args, Debug)]
pub(crate) struct ModelArgs {
    /// The run folder written by `seq2seq train`.
    #[arg(long, required_unless_present = "book_model")]
    artifacts: Option<PathBuf>,
    /// The epoch whose checkpoint to use [default: the most accurate, which the run folder always keeps].
    #[arg(long, visible_alias = "epoch", conflicts_with = "book_model")]
    checkpoint: Option<usize>,
    /// The book's trained AttentionSeq2seq, ch08/AttentionSeq2seq.pkl (date.txt, questions reversed, H 256): read from $BOOK_DIR/ch08/ if BOOK_DIR is set, else from data/book/AttentionSeq2seq.pkl, downloaded there on first use from the book's repository (or $BOOK_URL) and checked against its SHA-256.
    #[arg(long, conflicts_with = "artifacts")]
    book_model: bool,
    /// Backend to run on [default: wgpu on a hardware GPU, else the fastest CPU backend, flex].
    #[arg(long, value_parser = choice::<Backend>())]
    backend: Option<Backend>,
}

#[derive(Args, Debug)]
pub(crate) struct EvalArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Questions answered at once.
    #[arg(long, default_value_t = 1000)]
    batch_size: usize,
}

#[derive(Args, Debug)]
pub(crate) struct AnswerArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// The questions, as the data set writes them ("16+75"); shorter ones are padded with spaces.
    #[arg(required = true)]
    questions: Vec<String>,
}

#[derive(Args, Debug)]
pub(crate) struct AttentionArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// The question, as the data set writes it ("september 27, 1994"); a shorter one is padded with spaces.
    question: String,
    /// The PNG to write.
    #[arg(long, default_value = "attention.png")]
    out: PathBuf,
}

/// A trained encoder-decoder, with what it was trained on.
struct Loaded {
    cfg: Seq2seqTrainConfig,
    model: Seq2seq,
    /// Its vocabulary, by id.
    chars: Vec<char>,
    /// Where it came from, for the first line printed.
    source: String,
    /// The data set as the model reads it, where finding the model read it already.
    data: Option<SequenceData>,
    backend: Backend,
    device: burn::tensor::Device,
}

impl Loaded {
    /// The id of the decoder's start mark `_`.
    fn start(&self) -> Result<u32, Failure> {
        Ok(self.chars.iter().position(|&c| c == '_').ok_or("the model's vocabulary has no start mark '_'")? as u32)
    }
}

/// The model `a` names: a run folder's checkpoint, or the book's trained
/// `AttentionSeq2seq` with date.txt's vocabulary and reversed questions.
fn load_model(a: &ModelArgs) -> Result<Loaded, Failure> {
    let (backend, _) = backend::choose(a.backend);
    let device = backend.device()?;
    let Some(dir) = a.artifacts.as_ref().filter(|_| !a.book_model) else {
        let path = rnnlm::data::book::trained_attention_model().map_err(|e| Failure(format!("--book-model: {e}")))?;
        let weights = rnnlm::weights::book_pickle::read_seq2seq_weights(&path)?;
        let data = load(SequenceSet::Date, true)?; // ch08/train.py reverses the questions
        let cfg = Seq2seqTrainConfig {
            reverse: true,
            wordvec_size: weights.arch.wordvec_size,
            hidden_size: weights.arch.hidden_size,
            epochs: 10,
            ..Seq2seqTrainConfig::book(weights.arch.kind, &data, SequenceSet::Date)
        };
        if cfg.architecture() != weights.arch {
            return Err(Failure(format!(
                "{} holds {}; date.txt's vocabulary has {} characters",
                path.display(),
                weights.arch,
                data.chars.len()
            )));
        }
        let model = cfg.model().init_with(&weights, &device)?;
        let source = format!("the book's {}", rnnlm::data::book::ATTENTION_MODEL_IN_REPO);
        let chars = data.chars.clone();
        return Ok(Loaded { cfg, model, chars, source, data: Some(data), backend, device });
    };
    let (cfg, model, epoch) = load_trained_seq2seq(dir, a.checkpoint, &device)?;
    let path = RunDir::new(dir).vocab();
    let chars = rnnlm::run::vocab::read_vocab(&path)?
        .iter()
        .map(|c| {
            let mut it = c.chars();
            match (it.next(), it.next()) {
                (Some(ch), None) => Ok(ch),
                _ => Err(Failure(format!("{}: {c:?} is not one character", path.display()))),
            }
        })
        .collect::<Result<Vec<char>, _>>()?;
    if chars.len() != cfg.vocab_size {
        return Err(Failure(format!(
            "{} holds {} characters, the run's model V={}: the run folder is damaged",
            path.display(),
            chars.len(),
            cfg.vocab_size
        )));
    }
    let source = format!("epoch {epoch} of {}", dir.display());
    Ok(Loaded { cfg, model, chars, source, data: None, backend, device })
}

pub(super) fn run_eval(a: EvalArgs) -> Result<u8, Failure> {
    let mut m = load_model(&a.model)?;
    let data = match m.data.take() {
        Some(data) => data,
        None => load(m.cfg.data, m.cfg.reverse)?,
    };
    if let Some(dir) = &a.model.artifacts {
        same_data(&m, &data, dir)?;
    }
    println!("evaluating {} from {} on {}", m.cfg.title(), m.source, m.backend);
    let test = &data.test;
    let steps = test.t.cols - 1;
    let guess = greedy_answers(&m.model, &test.x, test.t.row(0)[0], steps, a.batch_size, &m.device);
    let colors = std::io::stdout().is_terminal();
    for r in 0..test.len().min(10) {
        show(&data.chars, &test.x, &test.t, &guess, r, m.cfg.reverse, colors);
    }
    let correct = count_correct(&guess, &test.t);
    println!("test accuracy: {:.3}% ({correct} of {})", 100.0 * correct as f64 / test.len() as f64, test.len());
    let loss = teacher_forced_loss(&m.model, &test.x, &test.t, a.batch_size, &m.device);
    println!("test loss (teacher forcing): {loss:.9}");
    Ok(0)
}

/// Question `r` as `eval_seq2seq` prints it: Q, T, then ☑ or ☒ with the guess.
fn show(chars: &[char], x: &Ids, t: &Ids, guess: &Ids, r: usize, reverse: bool, colors: bool) {
    let mut question: Vec<u32> = x.row(r).to_vec();
    if reverse {
        question.reverse();
    }
    let correct = sequence::text(chars, &t.row(r)[1..]);
    let answer = sequence::text(chars, guess.row(r));
    let (mark, color) = if answer == correct { ('☑', "\x1b[92m") } else { ('☒', "\x1b[91m") };
    let mark = if colors { format!("{color}{mark}\x1b[0m") } else { mark.to_string() };
    println!("Q {}\nT {correct}\n{mark} {answer}\n---", sequence::text(chars, &question));
}

/// The run's data set must be the one it trained on: the same vocabulary and sizes.
fn same_data(m: &Loaded, data: &SequenceData, dir: &Path) -> Result<(), Failure> {
    if m.chars != data.chars || m.cfg.vocab_size != data.chars.len() {
        return Err(Failure(format!(
            "{} trained on another vocabulary than {}'s",
            dir.display(),
            m.cfg.data.file_name()
        )));
    }
    Ok(())
}

pub(super) fn run_answer(a: AnswerArgs) -> Result<u8, Failure> {
    let m = load_model(&a.model)?;
    let start = m.start()?;
    let mut data = Vec::new();
    for q in &a.questions {
        data.extend(sequence::encode_question(&m.chars, q, m.cfg.question_size, m.cfg.reverse)?);
    }
    let x = Ids { rows: a.questions.len(), cols: m.cfg.question_size, data };
    let guess = greedy_answers(&m.model, &x, start, m.cfg.answer_size - 1, 1000, &m.device);
    for (r, q) in a.questions.iter().enumerate() {
        println!("{q} {}", sequence::text(&m.chars, guess.row(r)).trim_end());
    }
    Ok(0)
}

pub(super) fn run_attention(a: AttentionArgs) -> Result<u8, Failure> {
    let m = load_model(&a.model)?;
    if !m.cfg.model.attention() {
        return Err(Failure(format!("{} has no attention to draw: it is a {}", m.source, m.cfg.model)));
    }
    let start = m.start()?;
    let (tq, steps) = (m.cfg.question_size, m.cfg.answer_size - 1);
    let ids = sequence::encode_question(&m.chars, &a.question, tq, m.cfg.reverse)?;
    let xs = burn::tensor::Tensor::<2, burn::tensor::Int>::from_data(
        burn::tensor::TensorData::new(ids.iter().map(|&v| v as i64).collect::<Vec<_>>(), [1, tq]),
        &m.device,
    );
    let answers = m.model.answer(xs, start, steps); // ids [1, steps], attention [1, steps, Tq]
    let answer: Vec<char> = answers.ids.iter().map(|&id| m.chars[id as usize]).collect();
    // Columns in reading order, as visualize_attention.py turns a reversed question back.
    let mut question: Vec<char> = ids.iter().map(|&id| m.chars[id as usize]).collect();
    let mut weights = answers.attention;
    if m.cfg.reverse {
        question.reverse();
        for row in weights.chunks_mut(tq) {
            row.reverse();
        }
    }
    let answer_text: String = answer.iter().collect();
    println!("{} {}", a.question, answer_text.trim_end());
    let title = format!("{}: {}", m.cfg.architecture().model_name(), a.question.trim_end());
    rnnlm::run::plot::plot_attention(&a.out, &title, &question, &answer, &weights)?;
    println!("wrote {}", a.out.display());
    Ok(0)
}
