//! Every transport keeps one contract (STYLE.md: one shared conformance suite that every
//! backend runs). Each backend's end-to-end tests run `ferrysync::transport::conformance`
//! against it; the remote backends will run it against their servers the same way.

use ferrysync::transport::{conformance, LocalTransport, MemoryTransport};

#[test]
fn a_local_folder_with_an_odd_name_keeps_the_transport_contract() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("with space – and ünïcode");
    conformance::run(|check| Box::new(LocalTransport::new(base.join(check))));
}

#[test]
fn a_tree_in_memory_keeps_the_transport_contract() {
    conformance::run(|check| Box::new(MemoryTransport::new(check)));
}
