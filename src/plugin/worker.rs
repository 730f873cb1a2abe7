//! The worker side of an instance: the worker thread ([`worker_thread`]), the request that
//! decides a melody ([`request`]), the saved melody ([`state`]), the models shared between
//! instances ([`models`]), the parameters ([`params`], atomics read by every thread) and the
//! plugin binary's own location ([`location`]). Never the audio thread, but for the
//! parameters' atomics.

pub mod location;
pub mod models;
pub mod params;
pub mod request;
pub mod state;
pub mod worker_thread;
