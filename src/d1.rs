//! D1 engine.
