//! tcplens: a packet-capture analyzer that makes TCP connections visible.
//!
//! The pipeline (docs/ARCHITECTURE.md): a [`source`] thread reads and [`decode`]s frames and
//! sends them through a bounded channel; the [`flow`] tracker and the display filter
//! ([`dfilter`], over the [`fields`] table) turn them into one typed event stream
//! ([`pipeline::Event`]), and every output is a [`render::Sink`] of it.

pub mod cli;
pub mod decode;
pub mod demo;
pub mod dfilter;
pub mod fields;
pub mod flow;
pub mod lz4;
pub mod pipeline;
pub mod render;
pub mod source;
pub mod tui;
