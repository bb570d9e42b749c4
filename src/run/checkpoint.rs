//! An epoch's checkpoint: Burn's records of the model, the optimizer and the
//! scheduler, written atomically, and the hidden state carried into the next
//! epoch (the book's stateful Time layers), which Burn does not keep.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use burn::tensor::{Bytes, Device, Tensor, TensorData};
use burn::train::checkpoint::{Checkpoint, Checkpointer, CheckpointerError};
use serde::{Deserialize, Serialize};

use crate::arch::{Architecture, CellKind};
use crate::atomic::{remove_if_present, write_atomic};
use crate::error::{Error, Result, RunError};
use crate::model::RecurrentState;

/// Burn's file checkpointer writes in place; this one writes atomically, so a
/// crash (even `kill -9`) mid-write leaves the previous epochs readable and no
/// half file under a checkpoint's name.
pub struct AtomicCheckpointer {
    /// The run's `checkpoint/` folder.
    pub dir: PathBuf,
    /// `model`, `optim` or `scheduler`: the file is `NAME-EPOCH.bpk`.
    pub name: &'static str,
    /// The first write that failed, with the file it was for: Burn runs the
    /// checkpointers on their own threads and reports only the I/O error.
    pub failure: Arc<Mutex<Option<Error>>>,
}

impl AtomicCheckpointer {
    fn path(&self, epoch: usize) -> PathBuf {
        self.dir.join(format!("{}-{epoch}.bpk", self.name))
    }
}

impl<R: Checkpoint> Checkpointer<R> for AtomicCheckpointer {
    fn save(&self, epoch: usize, record: R) -> Result<(), CheckpointerError> {
        let bytes = record.checkpoint_into_bytes().map_err(CheckpointerError::Record)?;
        let path = self.path(epoch);
        write_atomic(&path, &bytes).map_err(|e| {
            self.failure.lock().expect("checkpoint failure").get_or_insert_with(|| Error::write(&path, &e));
            CheckpointerError::IOError(e)
        })
    }

    fn delete(&self, epoch: usize) -> Result<(), CheckpointerError> {
        remove_if_present(&self.path(epoch)).map_err(CheckpointerError::IOError)
    }

    fn restore(&self, epoch: usize) -> Result<R, CheckpointerError> {
        let bytes = std::fs::read(self.path(epoch)).map_err(CheckpointerError::IOError)?;
        R::checkpoint_from_bytes(Bytes::from_bytes_vec(bytes)).map_err(CheckpointerError::Record)
    }
}

/// The carried state on disk: every layer's `h` (and an LSTM's `c`), each
/// `[N, H]`: `{"shape": [N, H], "tensors": [[...], ...]}`.
#[derive(Serialize, Deserialize)]
struct SavedState {
    shape: [usize; 2],
    tensors: Vec<Vec<f32>>,
}

/// Writes the carried state to `path`, atomically.
pub fn save_state(path: &Path, state: RecurrentState) -> Result<()> {
    let tensors = state.tensors();
    let shape = tensors[0].dims();
    let tensors = tensors
        .into_iter()
        .map(|t| t.try_into_vec_as::<f32>().map_err(|e| Error::Invalid(format!("cannot read the hidden state: {e:?}"))))
        .collect::<Result<_, _>>()?;
    let json = serde_json::to_vec(&SavedState { shape, tensors }).expect("state serializes");
    write_atomic(path, &json).map_err(|e| Error::write(path, e))
}

/// The carried state saved at `path`, checked against the model it is for
/// (`arch`, with batches of `batch_size` rows).
pub fn load_state(path: &Path, arch: &Architecture, batch_size: usize, device: &Device) -> Result<RecurrentState> {
    let bytes = std::fs::read(path).map_err(|e| unreadable(path, e))?;
    let saved: SavedState = serde_json::from_slice(&bytes).map_err(|e| unreadable(path, e))?;
    let shape = [batch_size, arch.hidden_size];
    let count = arch.layers * if arch.cell == CellKind::Lstm { 2 } else { 1 };
    if saved.shape != shape
        || saved.tensors.len() != count
        || saved.tensors.iter().any(|t| t.len() != shape[0] * shape[1])
    {
        return Err(unreadable(
            path,
            format!(
                "it holds {} state tensors of shape {:?}, this run needs {count} of {shape:?}",
                saved.tensors.len(),
                saved.shape
            ),
        ));
    }
    let tensors = saved.tensors.into_iter().map(|v| Tensor::from_data(TensorData::new(v, shape), device)).collect();
    Ok(RecurrentState::from_tensors(arch.cell, tensors))
}

/// The one-line error for a checkpoint file that cannot be used.
pub fn unreadable(path: &Path, why: impl std::fmt::Display) -> Error {
    RunError::Damaged(format!("checkpoint {} cannot be read: {why}", path.display())).into()
}

/// A checkpoint file's bytes, as Burn's records decode them.
pub fn read_bytes(path: &Path) -> Result<Bytes> {
    std::fs::read(path).map(Bytes::from_bytes_vec).map_err(|e| unreadable(path, e))
}

/// Decodes the optimizer's and the schedule's records of epoch `epoch`
/// (Burn panics on one it cannot decode when it resumes; this says which
/// file instead).
pub fn check_records_readable(run_dir: &crate::run::RunDir, epoch: usize) -> Result<()> {
    use burn::lr_scheduler::LrSchedulerRecord;
    use burn::optim::OptimizerRecord;
    let optim = run_dir.optim_checkpoint(epoch);
    OptimizerRecord::checkpoint_from_bytes(read_bytes(&optim)?).map_err(|e| unreadable(&optim, e))?;
    let scheduler = run_dir.scheduler_checkpoint(epoch);
    LrSchedulerRecord::checkpoint_from_bytes(read_bytes(&scheduler)?).map_err(|e| unreadable(&scheduler, e))?;
    Ok(())
}
