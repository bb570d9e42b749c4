//! Weights that travel: a model's parameters by the book's names and shapes
//! ([`Architecture::params`]: `embed.W [V, D]`, `rnn.Wx [D, H]`, `rnn.Wh`,
//! `rnn.b`, `affine.W [H, V]`, `affine.b`; `lstm1.Wx`... for stacked layers),
//! float32, in the formats the other tools read:
//!
//! - `.safetensors`, which PyTorch, candle and Burn's stores load, written
//!   and read with Hugging Face's `safetensors` crate;
//! - `.npz`, NumPy's `np.savez` archive (one `.npy` per tensor, stored
//!   uncompressed), written and read with the `ndarray-npy` crate;
//! - `.pkl`, the book's own `save_params` files, read only
//!   ([`super::book_pickle`]).

use std::collections::HashMap;
use std::io::{Cursor, Read};
use std::path::Path;

use ndarray::{ArrayD, ArrayViewD, IxDyn};
use ndarray_npy::{NpzWriter, ReadNpyError, ReadNpyExt, ViewNpyError, ViewNpyExt};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use super::{Architecture, RnnlmWeights};
use crate::atomic::write_atomic;

/// A weights file's format, from its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `.safetensors`.
    Safetensors,
    /// NumPy's `.npz` (`np.savez`, uncompressed).
    Npz,
    /// The book's `save_params` pickle (read only).
    BookPickle,
}

impl Format {
    /// The format `path`'s extension names; an error for another.
    pub fn of(path: &Path) -> crate::Result<Format> {
        match path.extension().and_then(|e| e.to_str()) {
            Some("safetensors") => Ok(Format::Safetensors),
            Some("npz") => Ok(Format::Npz),
            Some("pkl") => Ok(Format::BookPickle),
            _ => Err(crate::Error::Weights(format!(
                "{}: the file name must end in .safetensors or .npz (or .pkl, the book's, to read)",
                path.display()
            ))),
        }
    }
}

/// One tensor of a file: name, shape, row-major values.
pub type Named = (String, Vec<usize>, Vec<f32>);

/// Writes `w` to `path` in the format of its extension, atomically: a reader
/// (or a crash) never sees half a file. `metadata` goes into the header of a
/// `.safetensors` file (`.npz` has no place for it).
pub fn write(path: &Path, w: &RnnlmWeights, metadata: &[(String, String)]) -> crate::Result<()> {
    w.validate()?;
    write_named(path, &w.named().collect::<Vec<_>>(), metadata)
}

/// Writes the tensors `named` (name, shape, row-major values), in that
/// order, as [`write`](fn@write) does.
pub fn write_named(
    path: &Path,
    named: &[(String, Vec<usize>, &[f32])],
    metadata: &[(String, String)],
) -> crate::Result<()> {
    let bytes = match Format::of(path)? {
        Format::Safetensors => safetensors_bytes(named, metadata).map_err(crate::Error::Weights)?,
        Format::Npz => npz_bytes(named).map_err(crate::Error::Weights)?,
        Format::BookPickle => {
            return Err(crate::Error::Weights(format!(
                "{}: .pkl is read only; write .safetensors or .npz",
                path.display()
            )));
        }
    };
    write_atomic(path, &bytes).map_err(|e| crate::Error::write(path, e))
}

fn safetensors_bytes(named: &[(String, Vec<usize>, &[f32])], metadata: &[(String, String)]) -> Result<Vec<u8>, String> {
    let bytes: Vec<(&str, Vec<usize>, Vec<u8>)> = named
        .iter()
        .map(|(name, shape, values)| {
            (name.as_str(), shape.clone(), values.iter().flat_map(|v| v.to_le_bytes()).collect())
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(name, shape, data)| Ok((*name, TensorView::new(Dtype::F32, shape.clone(), data)?)))
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()
        .map_err(|e| format!("cannot encode safetensors: {e}"))?;
    let metadata: HashMap<String, String> = metadata.iter().cloned().collect();
    safetensors::serialize(views, Some(metadata)).map_err(|e| format!("cannot encode safetensors: {e}"))
}

fn npz_bytes(named: &[(String, Vec<usize>, &[f32])]) -> Result<Vec<u8>, String> {
    // Stored, not deflated, as np.savez writes; in the book's order, which
    // np.load's `.files` keeps.
    let mut npz = NpzWriter::new(Cursor::new(Vec::new()));
    for (name, shape, values) in named {
        let array = ArrayD::from_shape_vec(IxDyn(shape), values.to_vec()).map_err(|e| format!("{name}: {e}"))?;
        npz.add_array(name, &array).map_err(|e| format!("cannot encode npz: {e}"))?;
    }
    Ok(npz.finish().map_err(|e| format!("cannot encode npz: {e}"))?.into_inner())
}

/// Every tensor of a `.safetensors` or `.npz` file (or a book `.pkl`), as
/// float32; any other element type is refused.
pub fn read(path: &Path) -> crate::Result<Vec<Named>> {
    let format = Format::of(path)?;
    let bytes = std::fs::read(path).map_err(|e| crate::Error::read(path, e))?;
    let unreadable =
        |what: &str, e: String| crate::Error::Weights(format!("{} is not a readable {what}: {e}", path.display()));
    match format {
        Format::Safetensors => read_safetensors(&bytes).map_err(|e| unreadable("safetensors file", e)),
        Format::Npz => read_npz(bytes).map_err(|e| unreadable(".npz archive", e)),
        Format::BookPickle => {
            let w = super::book_pickle::read_weights(path)?;
            Ok(w.named().map(|(n, s, v)| (n, s, v.to_vec())).collect())
        }
    }
}

fn read_safetensors(bytes: &[u8]) -> Result<Vec<Named>, String> {
    let file = SafeTensors::deserialize(bytes).map_err(|e| e.to_string())?;
    let (_, metadata) = SafeTensors::read_metadata(bytes).map_err(|e| e.to_string())?;
    let mut named = Vec::new();
    // In the file's order (iterating `file` follows a hash map's).
    for name in metadata.offset_keys() {
        let view = file.tensor(&name).map_err(|e| e.to_string())?;
        if view.dtype() != Dtype::F32 {
            return Err(format!("{name} is {:?}; rnnlm reads float32 (F32) tensors", view.dtype()));
        }
        let values = view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        named.push((name, view.shape().to_vec(), values));
    }
    Ok(named)
}

fn read_npz(bytes: Vec<u8>) -> Result<Vec<Named>, String> {
    // Entry by entry: each `.npy` is viewed in its entry's bytes first, which
    // checks the header's shape against the bytes there, so a header that
    // claims more values than its entry holds is an error before anything is
    // allocated (ndarray-npy's own reader allocates the header's size first).
    let mut zip = zip::ZipArchive::new(Cursor::new(&bytes[..])).map_err(zip_error)?;
    let mut named = Vec::new();
    for k in 0..zip.len() {
        let mut entry = zip.by_index(k).map_err(zip_error)?;
        let name = entry.name().strip_suffix(".npy").unwrap_or(entry.name()).to_string();
        // A stored entry reads no more than the archive holds.
        let mut npy = Vec::new();
        entry.read_to_end(&mut npy).map_err(|e| format!("{name}: {e}"))?;
        let wrong_dtype = |d: &dyn std::fmt::Display| {
            format!("{name} has dtype {d}; rnnlm reads float32 ('<f4'): convert with .astype(np.float32)")
        };
        let array: ArrayD<f32> = match ArrayViewD::<f32>::view_npy(&npy) {
            Ok(view) => view.to_owned(),
            // The data are all there, only not 4-byte aligned in this buffer.
            Err(ViewNpyError::MisalignedData) => ArrayD::<f32>::read_npy(&npy[..]).map_err(|e| match e {
                ReadNpyError::WrongDescriptor(d) => wrong_dtype(&d),
                e => format!("{name}: {e}"),
            })?,
            Err(ViewNpyError::WrongDescriptor(d)) => return Err(wrong_dtype(&d)),
            Err(ViewNpyError::NonNativeEndian) => return Err(wrong_dtype(&"'>f4' (big-endian)")),
            Err(e) => return Err(format!("{name}: {e}")),
        };
        let shape = array.shape().to_vec();
        // Logical (row-major) order, whatever the file's memory order.
        named.push((name, shape, array.iter().copied().collect()));
    }
    Ok(named)
}

fn zip_error(e: zip::result::ZipError) -> String {
    match e {
        zip::result::ZipError::UnsupportedArchive(why) if why.contains("Compression") => {
            format!("{why} (np.savez_compressed archives are not read: save with np.savez)")
        }
        e => e.to_string(),
    }
}

/// The weights in `path`, checked against the architecture `arch`: every
/// parameter there by name, with its shape, and nothing else.
pub fn read_weights(path: &Path, arch: Architecture) -> crate::Result<RnnlmWeights> {
    RnnlmWeights::from_named(read(path)?, arch, &path.display().to_string())
}

/// The weights in `path`, with the architecture their names and shapes give.
pub fn read_any(path: &Path) -> crate::Result<RnnlmWeights> {
    RnnlmWeights::from_named_any(read(path)?, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::CellKind;

    fn better() -> RnnlmWeights {
        let arch = Architecture {
            cell: CellKind::Lstm,
            vocab_size: 30,
            wordvec_size: 6,
            hidden_size: 6,
            layers: 2,
            tied: true,
        };
        RnnlmWeights::book_init(arch, 3)
    }

    #[test]
    fn both_formats_round_trip_every_model_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let models = [
            RnnlmWeights::simple(40, 5, 7, 1),
            better(),
            RnnlmWeights::book_init(Architecture::single(CellKind::Gru, 20, 4, 3), 2),
        ];
        for w in models {
            for ext in ["safetensors", "npz"] {
                let path = dir.path().join(format!("m.{ext}"));
                write(&path, &w, &[("model".into(), "x".into())]).unwrap();
                assert_eq!(read_any(&path).unwrap(), w, "{ext} {}", w.arch);
                assert_eq!(read_weights(&path, w.arch).unwrap(), w);
            }
        }
        // Nothing but the two files (no temporaries).
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn the_npz_holds_the_books_names_in_the_books_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.npz");
        write(&path, &RnnlmWeights::simple(40, 5, 7, 1), &[]).unwrap();
        let mut npz = ndarray_npy::NpzReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        assert_eq!(npz.names().unwrap(), crate::weights::PARAM_NAMES);
    }

    #[test]
    fn a_mismatch_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.safetensors");
        let w = RnnlmWeights::simple(40, 5, 7, 1);
        write(&path, &w, &[]).unwrap();
        let wider = Architecture { hidden_size: 8, ..w.arch };
        let err = read_weights(&path, wider).unwrap_err().to_string();
        assert!(err.ends_with("rnn.Wx is [5, 7], a rnn V=40 D=5 H=8 model needs [5, 8]"), "{err}");
        let lstm = Architecture { cell: CellKind::Lstm, ..w.arch };
        let err = read_weights(&path, lstm).unwrap_err().to_string();
        assert!(
            err.contains("has no tensor lstm.Wx, which a lstm V=40 D=5 H=7 model needs (it holds affine.W [7, 40], "),
            "{err}"
        );
        let tied = Architecture { tied: true, ..RnnlmWeights::simple(40, 7, 7, 1).arch };
        write(&path, &RnnlmWeights::simple(40, 7, 7, 1), &[]).unwrap();
        assert!(
            read_weights(&path, tied)
                .unwrap_err()
                .to_string()
                .contains("holds affine.W, which a rnn V=40 D=7 H=7 tied model does not have")
        );
    }

    #[test]
    fn bad_files_are_one_line_errors() {
        let dir = tempfile::tempdir().unwrap();
        let w = RnnlmWeights::simple(40, 5, 7, 1);
        for ext in ["safetensors", "npz"] {
            let path = dir.path().join(format!("m.{ext}"));
            write(&path, &w, &[]).unwrap();
            let bytes = std::fs::read(&path).unwrap();
            // Every cut of the file: an error, never a panic or a model.
            let cut = dir.path().join(format!("cut.{ext}"));
            for n in (0..bytes.len()).step_by(7).chain([bytes.len() - 1]) {
                std::fs::write(&cut, &bytes[..n]).unwrap();
                let err = read_any(&cut).expect_err(&format!("{ext} cut at {n} bytes was read")).to_string();
                assert!(!err.contains('\n') && err.contains("cut."), "{err}");
            }
            std::fs::write(&cut, "text, not tensors").unwrap();
            assert!(read_any(&cut).is_err());
        }
        assert!(
            read_any(&dir.path().join("m.txt")).unwrap_err().to_string().contains("must end in .safetensors or .npz")
        );
        assert!(read_any(&dir.path().join("absent.npz")).unwrap_err().to_string().starts_with("cannot read"));
    }

    #[test]
    fn other_dtypes_and_non_finite_values_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.npz");
        let mut npz = NpzWriter::new(std::fs::File::create(&path).unwrap());
        npz.add_array("embed.W", &ndarray::Array2::<f64>::zeros((4, 2))).unwrap();
        npz.finish().unwrap();
        let err = read_any(&path).unwrap_err().to_string();
        assert!(err.contains("embed.W has dtype '<f8'") && err.contains("float32"), "{err}");

        let path = dir.path().join("m.safetensors");
        let data = vec![0u8; 16];
        let bytes =
            safetensors::serialize([("embed.W", TensorView::new(Dtype::F16, vec![4, 2], &data).unwrap())], None)
                .unwrap();
        std::fs::write(&path, bytes).unwrap();
        assert!(read_any(&path).unwrap_err().to_string().contains("embed.W is F16; rnnlm reads float32"));

        let mut w = RnnlmWeights::simple(40, 5, 7, 1);
        w.get_mut("rnn.Wh")[3] = f32::NAN;
        write(&path, &w, &[]).unwrap();
        assert!(read_any(&path).unwrap_err().to_string().ends_with("rnn.Wh holds NaN at index 3"));
    }
}
