//! `ferrysync._native`: the Python module of ferrysync, built with PyO3.
//!
//! The Python package `ferrysync` (python/python/ferrysync) re-exports these classes and adds
//! the exception hierarchy, which this module raises through `errors::to_py`.
//!
//! Conventions: every call that touches the disk or plans releases the GIL; a run is the
//! core's run handle (`ferrysync::Run`: its own thread, one bounded event queue, prompts by
//! id), which this module translates and polls with Ctrl-C checks; profiles are built
//! from keyword arguments by writing the JSON document and parsing it with the Rust parser,
//! so validation and error messages are those of `Profile::from_json`.

use pyo3::prelude::*;

mod convert;
mod errors;
mod plan;
mod profile;
mod run;
mod store;
mod versions;

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<profile::Profile>()?;
    m.add_class::<profile::Folder>()?;
    m.add_class::<plan::Plan>()?;
    m.add_class::<plan::PlanIterator>()?;
    m.add_class::<plan::Action>()?;
    m.add_class::<plan::Stamp>()?;
    m.add_class::<run::Engine>()?;
    m.add_class::<run::Run>()?;
    m.add_class::<run::Event>()?;
    m.add_class::<run::Conflict>()?;
    m.add_class::<run::Report>()?;
    m.add_class::<run::Problem>()?;
    m.add_class::<store::ProfileStore>()?;
    m.add_function(wrap_pyfunction!(store::profiles_from_json, m)?)?;
    m.add_function(wrap_pyfunction!(store::profiles_to_json, m)?)?;
    m.add_class::<versions::Versions>()?;
    m.add_class::<versions::Version>()?;
    m.add_class::<versions::RestoreReport>()?;
    m.add_class::<versions::CleanReport>()?;
    Ok(())
}
