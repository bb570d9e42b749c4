//! Reading the book's saved models (`BaseModel.save_params`: a pickle of a
//! list of float16 NumPy arrays, in `model.params` order), without running
//! them.
//!
//! A pickle is a program for a small stack machine, and loading one with
//! Python's `pickle` runs whatever it names. This reader runs nothing: it
//! knows exactly the opcodes NumPy's array pickles use under protocols 2-3
//! (`GLOBAL`, `REDUCE`, `BUILD`, `BINBYTES`, tuples, lists, the memo, small
//! ints and strings), builds a plain tree of values from them, and then
//! accepts only the shape NumPy gives an array: `_reconstruct(ndarray, (0,),
//! b'b')` whose state is `(1, shape, dtype('f2'|'f4'|'f8'), fortran, bytes)`.
//! Any other opcode, global or structure is an error that says which.
//! (`serde-pickle`, the maintained crate, resolves only built-in globals and
//! would drop the arrays.)

use half::f16;

/// One value on the pickle machine's stack.
#[derive(Clone, Debug, PartialEq)]
enum Value {
    None,
    Bool(bool),
    Int(i64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    /// A `module.name` reference (never imported, never called).
    Global(String, String),
    /// `callable(*args)`, recorded, not performed; the number names the
    /// object, whose state a later BUILD sets (see [`Parsed::states`]).
    Reduce(usize, Box<Value>, Box<Value>),
    Mark,
}

/// An array read from the pickle.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    /// Its shape.
    pub shape: Vec<usize>,
    /// Row-major values, converted to f32.
    pub values: Vec<f32>,
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| format!("truncated: {n} bytes wanted at offset {} of {}", self.pos, self.data.len()))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().expect("2 bytes")))
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn line(&mut self) -> Result<String, String> {
        let rest = &self.data[self.pos..];
        let end = rest.iter().position(|&b| b == b'\n').ok_or("truncated: a GLOBAL name without its newline")?;
        let s = std::str::from_utf8(&rest[..end]).map_err(|_| "a GLOBAL name is not UTF-8")?.to_string();
        self.pos += end + 1;
        Ok(s)
    }
}

/// Pops everything above the topmost MARK (the MARK too).
fn pop_mark(stack: &mut Vec<Value>) -> Result<Vec<Value>, String> {
    let k = stack.iter().rposition(|v| *v == Value::Mark).ok_or("an opcode wants a MARK and there is none")?;
    let items = stack.split_off(k + 1);
    stack.pop();
    Ok(items)
}

fn pop(stack: &mut Vec<Value>) -> Result<Value, String> {
    match stack.pop() {
        Some(Value::Mark) | None => Err("the stack ran empty".into()),
        Some(v) => Ok(v),
    }
}

/// What a pickle builds: the top value, and the state BUILD gave each object.
/// In Python BUILD changes the object in place, so every reference to it
/// (including copies fetched from the memo before the BUILD) sees the state;
/// here the state is kept by the object's number instead.
struct Parsed {
    value: Value,
    states: std::collections::HashMap<usize, Value>,
}

/// Runs the opcodes into a value tree, executing nothing.
fn parse(data: &[u8]) -> Result<Parsed, String> {
    let mut r = Reader { data, pos: 0 };
    let mut stack: Vec<Value> = Vec::new();
    let mut memo: std::collections::HashMap<u32, Value> = Default::default();
    let mut states: std::collections::HashMap<usize, Value> = Default::default();
    let mut objects = 0;
    loop {
        let at = r.pos;
        let op = r.u8()?;
        match op {
            0x80 => {
                // PROTO
                let v = r.u8()?;
                if !(2..=3).contains(&v) {
                    return Err(format!("pickle protocol {v}; the book's files are protocol 3"));
                }
            }
            b'.' => return Ok(Parsed { value: pop(&mut stack)?, states }), // STOP
            b']' => stack.push(Value::List(Vec::new())),                   // EMPTY_LIST
            b')' => stack.push(Value::Tuple(Vec::new())),                  // EMPTY_TUPLE
            b'(' => stack.push(Value::Mark),
            b'N' => stack.push(Value::None),
            0x88 => stack.push(Value::Bool(true)),                  // NEWTRUE
            0x89 => stack.push(Value::Bool(false)),                 // NEWFALSE
            b'K' => stack.push(Value::Int(r.u8()? as i64)),         // BININT1
            b'M' => stack.push(Value::Int(r.u16()? as i64)),        // BININT2
            b'J' => stack.push(Value::Int(r.u32()? as i32 as i64)), // BININT
            b'X' => {
                // BINUNICODE
                let n = r.u32()? as usize;
                let s = std::str::from_utf8(r.take(n)?).map_err(|_| format!("a string at offset {at} is not UTF-8"))?;
                stack.push(Value::Str(s.to_string()));
            }
            b'C' => {
                // SHORT_BINBYTES
                let n = r.u8()? as usize;
                stack.push(Value::Bytes(r.take(n)?.to_vec()));
            }
            b'B' => {
                // BINBYTES
                let n = r.u32()? as usize;
                stack.push(Value::Bytes(r.take(n)?.to_vec()));
            }
            b'c' => {
                // GLOBAL: recorded as a name, never imported
                let module = r.line()?;
                let name = r.line()?;
                stack.push(Value::Global(module, name));
            }
            b't' => {
                let items = pop_mark(&mut stack)?;
                stack.push(Value::Tuple(items));
            }
            0x85..=0x87 => {
                // TUPLE1, TUPLE2, TUPLE3
                let n = (op - 0x84) as usize;
                let mut items = (0..n).map(|_| pop(&mut stack)).collect::<Result<Vec<_>, _>>()?;
                items.reverse();
                stack.push(Value::Tuple(items));
            }
            b'e' => {
                // APPENDS
                let items = pop_mark(&mut stack)?;
                match stack.last_mut() {
                    Some(Value::List(list)) => list.extend(items),
                    _ => return Err(format!("APPENDS at offset {at} without a list")),
                }
            }
            b'a' => {
                // APPEND
                let item = pop(&mut stack)?;
                match stack.last_mut() {
                    Some(Value::List(list)) => list.push(item),
                    _ => return Err(format!("APPEND at offset {at} without a list")),
                }
            }
            b'R' => {
                // REDUCE: recorded, not called
                let args = pop(&mut stack)?;
                let callable = pop(&mut stack)?;
                objects += 1;
                stack.push(Value::Reduce(objects, Box::new(callable), Box::new(args)));
            }
            b'b' => {
                // BUILD: the state is recorded for the object, not applied
                let state = pop(&mut stack)?;
                match stack.last() {
                    Some(Value::Reduce(id, ..)) => {
                        if states.insert(*id, state).is_some() {
                            return Err(format!("BUILD at offset {at} sets an object's state twice"));
                        }
                    }
                    _ => return Err(format!("BUILD at offset {at} without an object")),
                }
            }
            b'q' => {
                let k = r.u8()? as u32; // BINPUT
                memo.insert(k, stack.last().cloned().ok_or("BINPUT on an empty stack")?);
            }
            b'r' => {
                let k = r.u32()?; // LONG_BINPUT
                memo.insert(k, stack.last().cloned().ok_or("LONG_BINPUT on an empty stack")?);
            }
            b'h' => {
                let k = r.u8()? as u32; // BINGET
                stack.push(memo.get(&k).cloned().ok_or_else(|| format!("BINGET {k} of nothing"))?);
            }
            b'j' => {
                let k = r.u32()?; // LONG_BINGET
                stack.push(memo.get(&k).cloned().ok_or_else(|| format!("LONG_BINGET {k} of nothing"))?);
            }
            other => return Err(format!("opcode 0x{other:02x} at offset {at} is not one a NumPy array pickle uses")),
        }
    }
}

fn global(v: &Value, module: &[&str], name: &str) -> bool {
    matches!(v, Value::Global(m, n) if module.contains(&m.as_str()) && n == name)
}

/// One NumPy array from its pickled form.
fn array(v: &Value, states: &std::collections::HashMap<usize, Value>, k: usize) -> Result<Array, String> {
    let bad = |why: &str| format!("item {k} is not a NumPy array: {why}");
    let Value::Reduce(id, callable, args) = v else { return Err(bad("no _reconstruct call")) };
    let state = states.get(id).ok_or_else(|| bad("no BUILD"))?;
    if !global(callable, &["numpy.core.multiarray", "numpy._core.multiarray"], "_reconstruct") {
        return Err(bad(&format!("it is made by {callable:?}")));
    }
    match args.as_ref() {
        Value::Tuple(a) if a.len() == 3 && global(&a[0], &["numpy"], "ndarray") => {}
        _ => return Err(bad("_reconstruct is not given numpy.ndarray")),
    }
    let Value::Tuple(st) = state else { return Err(bad("its state is not a tuple")) };
    let [Value::Int(1), Value::Tuple(shape), dtype, Value::Bool(fortran), Value::Bytes(raw)] = st.as_slice() else {
        return Err(bad("its state is not (1, shape, dtype, fortran, bytes)"));
    };
    let shape = shape
        .iter()
        .map(|d| match d {
            Value::Int(n) if *n >= 0 => Ok(*n as usize),
            _ => Err(bad("a dimension is not a size")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    // dtype: REDUCE(numpy.dtype, (code, 0, 1)), then BUILD with (3, byteorder, ...)
    let Value::Reduce(did, dcall, dargs) = dtype else { return Err(bad("no dtype")) };
    let dstate = states.get(did).ok_or_else(|| bad("a dtype without its state"))?;
    if !global(dcall, &["numpy"], "dtype") {
        return Err(bad("no numpy.dtype"));
    }
    let Value::Tuple(dargs) = dargs.as_ref() else { return Err(bad("dtype without arguments")) };
    let Some(Value::Str(code)) = dargs.first() else { return Err(bad("dtype without a type code")) };
    let order = match dstate {
        Value::Tuple(s) => match s.get(1) {
            Some(Value::Str(o)) => o.clone(),
            _ => return Err(bad("dtype without a byte order")),
        },
        _ => return Err(bad("dtype without a state")),
    };
    let size = match code.as_str() {
        "f2" => 2,
        "f4" => 4,
        "f8" => 8,
        c => return Err(bad(&format!("dtype {c}; only float arrays are model weights"))),
    };
    if order == ">" && size > 1 {
        return Err(bad("big-endian data"));
    }
    let count: usize = shape.iter().product();
    if raw.len() != count * size {
        return Err(bad(&format!("shape {shape:?} of {code} needs {} bytes, it holds {}", count * size, raw.len())));
    }
    let values: Vec<f32> = match size {
        2 => raw.chunks_exact(2).map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
        4 => raw.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect(),
        _ => raw.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32).collect(),
    };
    let values = if *fortran && shape.len() == 2 {
        // column-major on disk: transpose into row-major
        let (r, c) = (shape[0], shape[1]);
        (0..r * c).map(|i| values[(i % c) * r + i / c]).collect()
    } else if *fortran && shape.len() > 2 {
        return Err(bad("Fortran order beyond two dimensions"));
    } else {
        values
    };
    Ok(Array { shape, values })
}

/// The arrays of a book model file (`save_params`), in the file's order;
/// the error says what in the file is not what `save_params` writes.
fn read_arrays(data: &[u8]) -> Result<Vec<Array>, String> {
    let Parsed { value, states } = parse(data)?;
    match value {
        Value::List(items) => items.iter().enumerate().map(|(k, v)| array(v, &states, k)).collect(),
        other => Err(format!("the pickle holds {}, not a list of arrays", kind(&other))),
    }
}

/// The arrays of a book model file, in the file's order.
pub fn read_file(path: &std::path::Path) -> crate::Result<Vec<Array>> {
    use crate::Error;
    let bytes = std::fs::read(path).map_err(|e| Error::read(path, e))?;
    read_arrays(&bytes)
        .map_err(|e| Error::Weights(format!("{} is not a model saved by the book's save_params: {e}", path.display())))
}

/// A book language model file's weights, with the architecture its shapes give.
pub fn read_weights(path: &std::path::Path) -> crate::Result<crate::weights::RnnlmWeights> {
    crate::weights::RnnlmWeights::from_book_arrays(read_file(path)?)
        .map_err(|e| crate::Error::Weights(format!("{}: {e}", path.display())))
}

/// A book encoder-decoder file's weights (such as `ch08/AttentionSeq2seq.pkl`),
/// with the model and sizes its shapes give.
pub fn read_seq2seq_weights(path: &std::path::Path) -> crate::Result<crate::weights::Seq2seqWeights> {
    crate::weights::Seq2seqWeights::from_book_arrays(read_file(path)?)
        .map_err(|e| crate::Error::Weights(format!("{}: {e}", path.display())))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::None => "None",
        Value::Bool(_) => "a bool",
        Value::Int(_) => "an int",
        Value::Str(_) => "a string",
        Value::Bytes(_) => "bytes",
        Value::Tuple(_) => "a tuple",
        Value::List(_) => "a list",
        Value::Global(..) => "a global",
        Value::Reduce(..) => "an object",
        Value::Mark => "a mark",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `pickle.dumps([np.array([[1.5, -2], [0.25, 3]], dtype='f2')], protocol=3)`
    /// written out by hand, opcode by opcode.
    fn tiny() -> Vec<u8> {
        let mut p = vec![0x80, 3, b']', b'q', 0, b'('];
        p.extend(b"cnumpy.core.multiarray\n_reconstruct\nq\x01cnumpy\nndarray\nq\x02K\x00\x85q\x03C\x01bq\x04\x87q\x05Rq\x06(K\x01K\x02K\x02\x86q\x07cnumpy\ndtype\nq\x08X\x02\x00\x00\x00f2q\tK\x00K\x01\x87q\nRq\x0b(K\x03X\x01\x00\x00\x00<q\x0cNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\rb\x89C\x08");
        for v in [1.5f32, -2.0, 0.25, 3.0] {
            p.extend(f16::from_f32(v).to_le_bytes());
        }
        p.extend(b"q\x0etq\x0fbe.");
        p
    }

    #[test]
    fn reads_a_float16_array() {
        let arrays = read_arrays(&tiny()).unwrap();
        assert_eq!(arrays, [Array { shape: vec![2, 2], values: vec![1.5, -2.0, 0.25, 3.0] }]);
    }

    #[test]
    fn every_truncation_is_an_error_never_a_panic() {
        let p = tiny();
        for n in 0..p.len() {
            assert!(read_arrays(&p[..n]).is_err(), "a file cut at {n} bytes was accepted");
        }
    }

    #[test]
    fn unknown_opcodes_and_globals_are_refused() {
        let mut p = tiny();
        let k = p.windows(7).position(|w| w == b"ndarray").unwrap();
        p[k..k + 7].copy_from_slice(b"ndarrax");
        assert!(read_arrays(&p).unwrap_err().contains("numpy.ndarray"));
        // os.system via the INST opcode, which this reader does not know
        let evil = b"\x80\x03(X\x02\x00\x00\x00lsios\nsystem\n.".to_vec();
        assert!(read_arrays(&evil).unwrap_err().contains("opcode 0x69"));
    }
}
