//! The only types both sides of an instance touch: the worker → audio hand-off of melodies
//! ([`handoff`]), the worker's wake-up ([`wake`]), and what the threads share, split by who
//! may touch it ([`shared`]: `AudioTelemetry` atomics for the audio side, `WorkerLink` for
//! main, GUI and worker).

pub mod handoff;
pub mod shared;
pub mod wake;
