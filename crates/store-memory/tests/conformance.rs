//! The shared store conformance suite against the in-memory backend.

use windlass_store_api::conformance::StoreFactory;
use windlass_store_memory::MemoryStore;

struct Memory;

impl StoreFactory for Memory {
    type Store = MemoryStore;

    async fn fresh(&self) -> MemoryStore {
        MemoryStore::new()
    }

    async fn reopen(&self, _store: MemoryStore) -> Option<MemoryStore> {
        None
    }
}

windlass_store_api::store_conformance_tests!(Memory);
