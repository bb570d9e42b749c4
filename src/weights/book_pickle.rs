//! Reading the book's saved models (`BaseModel.save_params`: a pickle of a
//! list of float16 NumPy arrays, in `model.params` order), without running
//! them.
//!
//! A pickle is a program for a small stack machine, and loading one with
//! Python's `pickle` runs whatever it names. This reader runs nothing: it
//! knows exactly the opcodes `pickle.dump` writes for a list of NumPy arrays
//! under protocols 2 to 5 (`GLOBAL`/`STACK_GLOBAL`, `REDUCE`, `BUILD`, bytes,
//! tuples, lists, the memo, frames, small ints and strings), builds a plain
//! tree of values from them, and then accepts only the two shapes NumPy gives
//! an array, with numpy 1's `numpy.core` names or numpy 2's `numpy._core`:
//!
//! - protocols 2-4: `_reconstruct(ndarray, (0,), b'b')` whose state is
//!   `(1, shape, dtype('f2'|'f4'|'f8'), fortran, bytes)`;
//! - protocol 5 (Python 3.14's default): `_frombuffer(bytes, dtype, shape,
//!   order)`, the bytes in memory order.
//!
//! Any other opcode, global or structure is an error that says which. The
//! machine is bounded, so that a crafted file is an error, never a crash: a
//! memo fetch shares its value instead of copying it, nesting stops at
//! [`MAX_DEPTH`], the values built are at most a few per byte of the file,
//! and the arrays together hold no more bytes than the file does (the book's
//! `save_params` pickles each array once). (`serde-pickle`, the maintained
//! crate, resolves only built-in globals and would drop the arrays.)

use std::collections::HashMap;
use std::rc::Rc;

use half::f16;

/// How deep tuples, lists and calls may nest: NumPy's array pickles nest five
/// deep; a crafted file nesting a million deep would overflow the stack.
pub const MAX_DEPTH: usize = 32;

/// One value on the pickle machine's stack. Containers are shared, not
/// copied, when the memo hands them out again, so that a file that fetches
/// one value many times costs a pointer per fetch.
#[derive(Clone, Debug)]
enum Value {
    None,
    Bool(bool),
    Int(i64),
    Str(Rc<str>),
    Bytes(Rc<[u8]>),
    Tuple(Rc<Seq>),
    List(Rc<Seq>),
    /// A `module.name` reference (never imported, never called).
    Global(Rc<(String, String)>),
    /// `callable(*args)`, recorded, not performed (see [`Call`]).
    Reduce(Rc<Call>),
    Mark,
}

/// The items of a tuple or a list, with how deep they nest.
#[derive(Clone, Debug)]
struct Seq {
    depth: usize,
    items: Vec<Value>,
}

/// A call the pickle asks for; its number names the object, whose state a
/// later BUILD sets (see [`Parsed::states`]).
#[derive(Debug)]
struct Call {
    id: usize,
    depth: usize,
    callable: Value,
    args: Value,
}

impl Value {
    fn depth(&self) -> usize {
        match self {
            Value::Tuple(s) | Value::List(s) => s.depth,
            Value::Reduce(c) => c.depth,
            _ => 0,
        }
    }
}

/// The depth of a container of `items`, or an error past [`MAX_DEPTH`].
fn depth_of<'v>(items: impl IntoIterator<Item = &'v Value>, at: usize) -> Result<usize, String> {
    let depth = 1 + items.into_iter().map(Value::depth).max().unwrap_or(0);
    if depth > MAX_DEPTH {
        return Err(format!(
            "values nest deeper than {MAX_DEPTH} at offset {at}; a NumPy array pickle nests five deep"
        ));
    }
    Ok(depth)
}

fn seq(items: Vec<Value>, at: usize) -> Result<Rc<Seq>, String> {
    Ok(Rc::new(Seq { depth: depth_of(&items, at)?, items }))
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
    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    /// An 8-byte length, as a size this machine can hold.
    fn u64_len(&mut self) -> Result<usize, String> {
        let n = u64::from_le_bytes(self.array()?);
        usize::try_from(n).map_err(|_| format!("a length of {n} bytes at offset {}", self.pos))
    }
    fn line(&mut self) -> Result<String, String> {
        let rest = &self.data[self.pos..];
        let end = rest.iter().position(|&b| b == b'\n').ok_or("truncated: a GLOBAL name without its newline")?;
        let s = std::str::from_utf8(&rest[..end]).map_err(|_| "a GLOBAL name is not UTF-8")?.to_string();
        self.pos += end + 1;
        Ok(s)
    }
    fn str(&mut self, n: usize, at: usize) -> Result<Value, String> {
        let s = std::str::from_utf8(self.take(n)?).map_err(|_| format!("a string at offset {at} is not UTF-8"))?;
        Ok(Value::Str(s.into()))
    }
    fn bytes(&mut self, n: usize) -> Result<Value, String> {
        Ok(Value::Bytes(self.take(n)?.into()))
    }
}

/// Pops everything above the topmost MARK (the MARK too).
fn pop_mark(stack: &mut Vec<Value>) -> Result<Vec<Value>, String> {
    let k = stack.iter().rposition(|v| matches!(v, Value::Mark)).ok_or("an opcode wants a MARK and there is none")?;
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

/// Appends `items` to the list on top of the stack. A list the memo also
/// holds is copied first (Python would change both; the book's pickles
/// memoise the list before filling it and never fetch it), and the copy
/// counts against `budget`.
fn append(stack: &mut [Value], items: Vec<Value>, at: usize, budget: &mut Budget) -> Result<(), String> {
    let Some(Value::List(list)) = stack.last_mut() else {
        return Err(format!("APPEND at offset {at} without a list"));
    };
    if Rc::strong_count(list) > 1 {
        budget.spend(list.items.len(), at)?;
    }
    let depth = depth_of(list.items.iter().chain(&items), at)?;
    let list = Rc::make_mut(list);
    list.items.extend(items);
    list.depth = depth;
    Ok(())
}

/// The values a pickle may build: a few per byte of the file.
struct Budget {
    left: usize,
}

impl Budget {
    fn spend(&mut self, n: usize, at: usize) -> Result<(), String> {
        self.left = self
            .left
            .checked_sub(n)
            .ok_or_else(|| format!("the pickle builds more values than its size allows (at offset {at})"))?;
        Ok(())
    }
}

/// What a pickle builds: the top value, and the state BUILD gave each object.
/// In Python BUILD changes the object in place, so every reference to it
/// (including copies fetched from the memo before the BUILD) sees the state;
/// here the state is kept by the object's number instead.
struct Parsed {
    value: Value,
    states: HashMap<usize, Value>,
}

/// Runs the opcodes into a value tree, executing nothing.
fn parse(data: &[u8]) -> Result<Parsed, String> {
    let mut r = Reader { data, pos: 0 };
    let mut stack: Vec<Value> = Vec::new();
    let mut memo: HashMap<u32, Value> = HashMap::new();
    let mut states: HashMap<usize, Value> = HashMap::new();
    let mut objects = 0;
    // Every opcode pushes at most one value; copies of memoised lists are
    // the only other values built.
    let mut budget = Budget { left: 2 * data.len() + 1024 };
    loop {
        let at = r.pos;
        let op = r.u8()?;
        budget.spend(1, at)?;
        let push = match op {
            0x80 => {
                // PROTO
                let v = r.u8()?;
                if !(2..=5).contains(&v) {
                    return Err(format!("pickle protocol {v}; the book's save_params writes protocols 2 to 5"));
                }
                None
            }
            0x95 => {
                r.u64_len()?; // FRAME: a hint for buffered readers
                None
            }
            b'.' => return Ok(Parsed { value: pop(&mut stack)?, states }), // STOP
            b']' => Some(Value::List(seq(Vec::new(), at)?)),               // EMPTY_LIST
            b')' => Some(Value::Tuple(seq(Vec::new(), at)?)),              // EMPTY_TUPLE
            b'(' => Some(Value::Mark),
            b'N' => Some(Value::None),
            0x88 => Some(Value::Bool(true)),                  // NEWTRUE
            0x89 => Some(Value::Bool(false)),                 // NEWFALSE
            b'K' => Some(Value::Int(r.u8()? as i64)),         // BININT1
            b'M' => Some(Value::Int(r.u16()? as i64)),        // BININT2
            b'J' => Some(Value::Int(r.u32()? as i32 as i64)), // BININT
            0x8c => {
                let n = r.u8()? as usize; // SHORT_BINUNICODE
                Some(r.str(n, at)?)
            }
            b'X' => {
                let n = r.u32()? as usize; // BINUNICODE
                Some(r.str(n, at)?)
            }
            0x8d => {
                let n = r.u64_len()?; // BINUNICODE8
                Some(r.str(n, at)?)
            }
            b'C' => {
                let n = r.u8()? as usize; // SHORT_BINBYTES
                Some(r.bytes(n)?)
            }
            b'B' => {
                let n = r.u32()? as usize; // BINBYTES
                Some(r.bytes(n)?)
            }
            0x8e | 0x96 => {
                // BINBYTES8; BYTEARRAY8, an array's buffer under protocol 5
                let n = r.u64_len()?;
                Some(r.bytes(n)?)
            }
            b'c' => {
                // GLOBAL: recorded as a name, never imported
                let module = r.line()?;
                let name = r.line()?;
                Some(Value::Global(Rc::new((module, name))))
            }
            0x93 => {
                // STACK_GLOBAL: the module and the name from the stack
                let (Value::Str(name), Value::Str(module)) = (pop(&mut stack)?, pop(&mut stack)?) else {
                    return Err(format!("STACK_GLOBAL at offset {at} without a module and a name"));
                };
                Some(Value::Global(Rc::new((module.to_string(), name.to_string()))))
            }
            b't' => {
                let items = pop_mark(&mut stack)?;
                Some(Value::Tuple(seq(items, at)?))
            }
            0x85..=0x87 => {
                // TUPLE1, TUPLE2, TUPLE3
                let n = (op - 0x84) as usize;
                let mut items = (0..n).map(|_| pop(&mut stack)).collect::<Result<Vec<_>, _>>()?;
                items.reverse();
                Some(Value::Tuple(seq(items, at)?))
            }
            b'e' => {
                let items = pop_mark(&mut stack)?; // APPENDS
                append(&mut stack, items, at, &mut budget)?;
                None
            }
            b'a' => {
                let item = pop(&mut stack)?; // APPEND
                append(&mut stack, vec![item], at, &mut budget)?;
                None
            }
            b'R' => {
                // REDUCE: recorded, not called
                let args = pop(&mut stack)?;
                let callable = pop(&mut stack)?;
                objects += 1;
                let depth = depth_of([&callable, &args], at)?;
                Some(Value::Reduce(Rc::new(Call { id: objects, depth, callable, args })))
            }
            b'b' => {
                // BUILD: the state is recorded for the object, not applied
                let state = pop(&mut stack)?;
                let Some(Value::Reduce(call)) = stack.last() else {
                    return Err(format!("BUILD at offset {at} without an object"));
                };
                depth_of([&state, stack.last().expect("checked")], at)?;
                if states.insert(call.id, state).is_some() {
                    return Err(format!("BUILD at offset {at} sets an object's state twice"));
                }
                None
            }
            b'q' | b'r' | 0x94 => {
                // BINPUT, LONG_BINPUT, MEMOIZE (the next free index)
                let k = match op {
                    b'q' => r.u8()? as u32,
                    b'r' => r.u32()?,
                    _ => memo.len() as u32,
                };
                memo.insert(
                    k,
                    stack.last().cloned().ok_or_else(|| format!("a memo store at offset {at} on an empty stack"))?,
                );
                None
            }
            b'h' | b'j' => {
                // BINGET, LONG_BINGET: the memoised value, shared
                let k = if op == b'h' { r.u8()? as u32 } else { r.u32()? };
                Some(memo.get(&k).cloned().ok_or_else(|| format!("a memo fetch of {k} at offset {at} finds nothing"))?)
            }
            other => return Err(format!("opcode 0x{other:02x} at offset {at} is not one a NumPy array pickle uses")),
        };
        stack.extend(push);
    }
}

fn global(v: &Value, module: &[&str], name: &str) -> bool {
    matches!(v, Value::Global(g) if module.contains(&g.0.as_str()) && g.1 == name)
}

/// What a value is, in a few words (a crafted value is never printed whole).
fn describe(v: &Value) -> String {
    match v {
        Value::Global(g) => format!("{}.{}", g.0, g.1),
        other => kind(other).to_string(),
    }
}

/// The element type of an array: `numpy.dtype(code, ...)` with its state
/// `(3, byteorder, ...)`; its size in bytes.
fn dtype_of(v: &Value, states: &HashMap<usize, Value>) -> Result<(usize, Rc<str>), String> {
    let Value::Reduce(call) = v else { return Err("no dtype".into()) };
    if !global(&call.callable, &["numpy"], "dtype") {
        return Err("no numpy.dtype".into());
    }
    let Value::Tuple(args) = &call.args else { return Err("dtype without arguments".into()) };
    let Some(Value::Str(code)) = args.items.first() else { return Err("dtype without a type code".into()) };
    let big_endian = match states.get(&call.id) {
        Some(Value::Tuple(s)) => match s.items.get(1) {
            Some(Value::Str(o)) => &**o == ">",
            _ => return Err("dtype without a byte order".into()),
        },
        _ => return Err("dtype without a state".into()),
    };
    let size = match &**code {
        "f2" => 2,
        "f4" => 4,
        "f8" => 8,
        c => return Err(format!("dtype {c}; only float arrays are model weights")),
    };
    if big_endian {
        return Err("big-endian data".into());
    }
    Ok((size, code.clone()))
}

fn shape_of(v: &Value) -> Result<Vec<usize>, String> {
    let Value::Tuple(dims) = v else { return Err("its shape is not a tuple".into()) };
    dims.items
        .iter()
        .map(|d| match d {
            Value::Int(n) if *n >= 0 => Ok(*n as usize),
            _ => Err("a dimension is not a size".to_string()),
        })
        .collect()
}

/// One NumPy array from its pickled form; `bytes_left` is what the arrays
/// read so far have left of the file's size.
fn array(v: &Value, states: &HashMap<usize, Value>, bytes_left: &mut usize) -> Result<Array, String> {
    const CORE: [&str; 2] = ["numpy.core.multiarray", "numpy._core.multiarray"];
    const NUMERIC: [&str; 2] = ["numpy.core.numeric", "numpy._core.numeric"];
    let Value::Reduce(call) = v else { return Err(format!("it is {}", kind(v))) };
    let (shape, dtype, fortran, raw) = if global(&call.callable, &CORE, "_reconstruct") {
        // protocols 2-4: _reconstruct(ndarray, (0,), b'b'), then BUILD
        match &call.args {
            Value::Tuple(a) if a.items.len() == 3 && global(&a.items[0], &["numpy"], "ndarray") => {}
            _ => return Err("_reconstruct is not given numpy.ndarray".into()),
        }
        let Some(Value::Tuple(st)) = states.get(&call.id) else { return Err("its state is not a tuple".into()) };
        let [Value::Int(1), shape, dtype, Value::Bool(fortran), Value::Bytes(raw)] = st.items.as_slice() else {
            return Err("its state is not (1, shape, dtype, fortran, bytes)".into());
        };
        (shape, dtype, *fortran, raw)
    } else if global(&call.callable, &NUMERIC, "_frombuffer") {
        // protocol 5: _frombuffer(buffer, dtype, shape, order)
        let Value::Tuple(a) = &call.args else { return Err("_frombuffer without arguments".into()) };
        let [Value::Bytes(raw), dtype, shape, Value::Str(order)] = a.items.as_slice() else {
            return Err("_frombuffer's arguments are not (buffer, dtype, shape, order)".into());
        };
        let fortran = match &**order {
            "C" => false,
            "F" => true,
            o => return Err(format!("array order {o:?}")),
        };
        (shape, dtype, fortran, raw)
    } else {
        return Err(format!("it is made by {}, not by NumPy", describe(&call.callable)));
    };
    let shape = shape_of(shape)?;
    let (size, code) = dtype_of(dtype, states)?;
    let needed = shape.iter().try_fold(size, |n, &d| n.checked_mul(d));
    if needed != Some(raw.len()) {
        let needed = needed.map_or("more than this machine can address".to_string(), |n| n.to_string());
        return Err(format!("shape {shape:?} of {code} needs {needed} bytes, it holds {}", raw.len()));
    }
    *bytes_left = bytes_left
        .checked_sub(raw.len())
        .ok_or("the arrays hold more bytes than the file; save_params pickles each array once")?;
    let values: Vec<f32> = match size {
        2 => raw.chunks_exact(2).map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
        4 => raw.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
        _ => raw.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")) as f32).collect(),
    };
    let values = if fortran && shape.len() == 2 {
        // column-major on disk: transpose into row-major
        let (r, c) = (shape[0], shape[1]);
        (0..r * c).map(|i| values[(i % c) * r + i / c]).collect()
    } else if fortran && shape.len() > 2 {
        return Err("Fortran order beyond two dimensions".into());
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
        Value::List(items) => {
            let mut bytes_left = data.len();
            let one =
                |(k, v)| array(v, &states, &mut bytes_left).map_err(|e| format!("item {k} is not a NumPy array: {e}"));
            items.items.iter().enumerate().map(one).collect()
        }
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

    /// The arrays behind the protocol 4 and 5 fixtures, made by
    /// `[np.array([[1.5, -2], [0.25, 3]], dtype='f2'), np.array([0.5, 1, 2], dtype='f2'),
    /// np.asfortranarray(np.array([[1, 2, 3], [4, 5, 6]], dtype='f2'))]`.
    fn three_arrays() -> Vec<Array> {
        vec![
            Array { shape: vec![2, 2], values: vec![1.5, -2.0, 0.25, 3.0] },
            Array { shape: vec![3], values: vec![0.5, 1.0, 2.0] },
            Array { shape: vec![2, 3], values: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0] },
        ]
    }

    /// `pickle.dumps(arrays, protocol=P)` of [`three_arrays`]' arrays, written
    /// by Python 3.11 with numpy 1.26.4 (`numpy.core`) and 2.4.6 (`numpy._core`).
    const FIXTURES: [(&str, &[u8]); 5] = [
        ("numpy 2, protocol 3", include_bytes!("../../tests/data/three_arrays.numpy2.protocol3.pkl")),
        ("numpy 1, protocol 4", include_bytes!("../../tests/data/three_arrays.numpy1.protocol4.pkl")),
        ("numpy 1, protocol 5", include_bytes!("../../tests/data/three_arrays.numpy1.protocol5.pkl")),
        ("numpy 2, protocol 4", include_bytes!("../../tests/data/three_arrays.numpy2.protocol4.pkl")),
        ("numpy 2, protocol 5", include_bytes!("../../tests/data/three_arrays.numpy2.protocol5.pkl")),
    ];

    #[test]
    fn protocols_3_to_5_of_numpy_1_and_2_are_read() {
        for (name, fixture) in FIXTURES {
            assert_eq!(read_arrays(fixture).unwrap(), three_arrays(), "{name}");
        }
    }

    #[test]
    fn every_truncation_of_a_protocol_5_file_is_an_error() {
        let p = FIXTURES[4].1;
        for n in 0..p.len() {
            assert!(read_arrays(&p[..n]).is_err(), "a file cut at {n} bytes was accepted");
        }
    }

    /// A list holding `value`, as a pickle: the opcodes that build the value
    /// go between `]( ` and `e.`.
    fn list_of(value: &[u8]) -> Vec<u8> {
        let mut p = vec![0x80, 3, b']', b'('];
        p.extend(value);
        p.extend(b"e.");
        p
    }

    #[test]
    fn a_value_doubled_through_the_memo_is_shared_not_copied() {
        // t = (t, t) forty times: 2^40 leaves if copied
        let mut v = vec![b'N', b'q', 0];
        for _ in 0..40 {
            v.extend([b'h', 0, b'h', 0, 0x86, b'q', 0]);
        }
        let err = read_arrays(&list_of(&v)).unwrap_err();
        assert!(err.contains("nest deeper than 32"), "{err}");
        // twenty doublings stay under the depth: read, then refused as no array
        let mut v = vec![b'N', b'q', 0];
        for _ in 0..20 {
            v.extend([b'h', 0, b'h', 0, 0x86, b'q', 0]);
        }
        // (the list holds None and the twenty tuples: read, then refused)
        let err = read_arrays(&list_of(&v)).unwrap_err();
        assert!(err.contains("item 0 is not a NumPy array: it is None"), "{err}");
    }

    #[test]
    fn one_array_fetched_many_times_is_refused() {
        // the tiny file's array (memoised as 6), fetched 100,000 times more
        let p = tiny();
        let mut q = p[..p.len() - 2].to_vec();
        for _ in 0..100_000 {
            q.extend([b'h', 6]);
        }
        q.extend(b"e.");
        let err = read_arrays(&q).unwrap_err();
        assert!(err.contains("the arrays hold more bytes than the file"), "{err}");
    }

    #[test]
    fn a_million_nested_tuples_are_an_error_not_a_stack_overflow() {
        let mut v = vec![b'N'];
        v.extend(std::iter::repeat_n(0x85, 1_000_000));
        let err = read_arrays(&list_of(&v)).unwrap_err();
        assert!(err.contains("nest deeper than 32"), "{err}");
    }

    #[test]
    fn a_shape_whose_byte_count_overflows_is_an_error() {
        // shape (2^31-1, 2^31-1, 2^31-1) of f2 in place of (2, 2)
        let p = tiny();
        let k = p.windows(5).position(|w| w == b"K\x02K\x02\x86").unwrap();
        let mut q = p[..k].to_vec();
        q.extend(b"J\xff\xff\xff\x7fJ\xff\xff\xff\x7fJ\xff\xff\xff\x7f\x87");
        q.extend(&p[k + 5..]);
        let err = read_arrays(&q).unwrap_err();
        assert!(err.contains("more than this machine can address"), "{err}");
    }

    #[test]
    fn a_protocol_beyond_5_is_refused() {
        let mut p = tiny();
        p[1] = 6;
        assert!(read_arrays(&p).unwrap_err().contains("pickle protocol 6"));
    }
}
