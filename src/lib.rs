//! tcplens: a packet-capture analyzer that makes TCP connections visible.
//!
//! The pipeline (docs/ARCHITECTURE.md): a [`source`] thread reads frames and sends them through
//! a bounded channel; the consumer [`decode`]s each frame, lets the [`flow`] tracker assign it to
//! a connection, and hands both to a [`render`]er.

pub mod cli;
pub mod decode;
pub mod demo;
pub mod dfilter;
pub mod fields;
pub mod flow;
pub mod pipeline;
pub mod render;
pub mod source;
