//! `layouts.json`: the layout each of a run's products was given
//! (`cpu::layout`, chosen by timing), so that a resumed run makes its
//! products with the kernels of the run it continues, and prints the digits
//! the uninterrupted run would have printed. A list of
//! `{"product": …, "layout": …}`; a folder without one (a run from before
//! it existed) resumes with layouts measured anew.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::atomic::write_atomic;
use crate::error::{Error, Result};

#[derive(Serialize, Deserialize)]
struct Entry {
    product: String,
    layout: String,
}

/// Writes the (product, layout) pairs, atomically.
pub fn write_layouts(path: &Path, chosen: &[(String, String)]) -> Result<()> {
    let entries: Vec<Entry> = chosen.iter().map(|(p, l)| Entry { product: p.clone(), layout: l.clone() }).collect();
    let json = serde_json::to_vec_pretty(&entries).expect("layouts serialize");
    write_atomic(path, &json).map_err(|e| Error::write(path, e))
}

/// The (product, layout) pairs of a `layouts.json`; none where there is no file.
pub fn read_layouts(path: &Path) -> Result<Vec<(String, String)>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let bytes = std::fs::read(path).map_err(|e| Error::read(path, e))?;
    let entries: Vec<Entry> = serde_json::from_slice(&bytes)
        .map_err(|e| Error::Invalid(format!("{} is not a list of products' layouts: {e}", path.display())))?;
    Ok(entries.into_iter().map(|e| (e.product, e.layout)).collect())
}

#[cfg(test)]
mod tests {
    use super::{read_layouts, write_layouts};

    /// What is written reads back as it was, and a folder without the file
    /// (a run from before it) reads as no choices.
    #[test]
    fn layouts_read_back_as_written_and_a_missing_file_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("layouts.json");
        assert_eq!(read_layouts(&path).unwrap(), []);
        let chosen = vec![("step h·Wh [20, 650]·[650, 2600]".to_string(), "Wh row-major".to_string())];
        write_layouts(&path, &chosen).unwrap();
        assert_eq!(read_layouts(&path).unwrap(), chosen);
        std::fs::write(&path, b"{").unwrap();
        assert!(read_layouts(&path).unwrap_err().to_string().contains("is not a list of products' layouts"));
    }
}
