//! Python objects to and from [`Value`]: the JSON types, with `bytes` as
//! binary attachments, as python-socketio's serializer accepts them.

use bytes::Bytes;
use indexmap::IndexMap;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyMemoryView, PyString, PyTuple,
};
use socketio::embed::Value;

/// Deeper structures are refused, so a self-referencing list cannot
/// exhaust the stack.
const MAX_DEPTH: usize = 128;

/// Converts a Python object to a value.
pub fn to_value(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    convert(obj, 0)
}

/// Converts a sequence of Python objects (event arguments) to values.
pub fn to_values(items: &Bound<'_, PyAny>) -> PyResult<Vec<Value>> {
    let mut out = Vec::new();
    for item in items.try_iter()? {
        out.push(convert(&item?, 0)?);
    }
    Ok(out)
}

fn convert(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err(
            "payload nested too deeply (or self-referencing)",
        ));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    // bool before int: Python's bool is an int subclass.
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::Number(i.into()));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::Number(u.into()));
        }
        // Beyond 64 bits: a double, as JavaScript peers would read it anyway.
        let f: f64 = obj.extract()?;
        return Ok(float(f));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(float(f.value()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_cow()?.into_owned()));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Value::Binary(Bytes::copy_from_slice(b.as_bytes())));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(Value::Binary(Bytes::from(b.to_vec())));
    }
    if obj.is_instance_of::<PyMemoryView>() {
        let b: Vec<u8> = obj.call_method0("tobytes")?.extract()?;
        return Ok(Value::Binary(Bytes::from(b)));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut map = IndexMap::with_capacity(d.len());
        for (k, v) in d.iter() {
            map.insert(key(&k)?, convert(&v, depth + 1)?);
        }
        return Ok(Value::Object(map));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        let mut out = Vec::with_capacity(l.len());
        for item in l.iter() {
            out.push(convert(&item, depth + 1)?);
        }
        return Ok(Value::Array(out));
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        let mut out = Vec::with_capacity(t.len());
        for item in t.iter() {
            out.push(convert(&item, depth + 1)?);
        }
        return Ok(Value::Array(out));
    }
    let ty = obj.get_type().name()?;
    Err(PyTypeError::new_err(format!(
        "Object of type {ty} is not JSON serializable"
    )))
}

/// A dict key as JSON has it: strings as they are, numbers, booleans and
/// None spelled as `json.dumps` spells them.
fn key(k: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = k.cast::<PyString>() {
        return Ok(s.to_cow()?.into_owned());
    }
    if k.is_none() {
        return Ok("null".to_owned());
    }
    if let Ok(b) = k.cast::<PyBool>() {
        return Ok(if b.is_true() { "true" } else { "false" }.to_owned());
    }
    if k.is_instance_of::<PyInt>() || k.is_instance_of::<PyFloat>() {
        return Ok(k.str()?.to_cow()?.into_owned());
    }
    let ty = k.get_type().name()?;
    Err(PyTypeError::new_err(format!(
        "keys must be str, int, float, bool or None, not {ty}"
    )))
}

/// A double as a value; NaN and the infinities become null, as
/// `JSON.stringify` makes them.
fn float(f: f64) -> Value {
    serde_json::Number::from_f64(f)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// Converts a value to a Python object.
pub fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Binary(b) => PyBytes::new(py, b).into_any(),
        Value::Array(items) => {
            let l = PyList::empty(py);
            for item in items {
                l.append(to_py(py, item)?)?;
            }
            l.into_any()
        }
        Value::Object(map) => {
            let d = PyDict::new(py);
            for (k, item) in map {
                d.set_item(k, to_py(py, item)?)?;
            }
            d.into_any()
        }
    })
}

/// Converts event arguments to a Python list.
pub fn to_py_list<'py>(py: Python<'py>, args: &[Value]) -> PyResult<Bound<'py, PyList>> {
    let l = PyList::empty(py);
    for a in args {
        l.append(to_py(py, a)?)?;
    }
    Ok(l)
}
