//! The shared store conformance suite against a real PostgreSQL server.

use windlass_pg_testing as common;

windlass_store_api::store_conformance_tests!(common::Postgres, if common::server_ready());
