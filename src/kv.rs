//! Workers KV engine.
