use pyo3::prelude::*;

/// (lines, words, bytes) of `text`.
#[pyfunction]
fn stats(text: &str) -> (usize, usize, usize) {
    let s = polyglot_core::stats(text);
    (s.lines, s.words, s.bytes)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(stats, m)?)?;
    Ok(())
}
