//! Palomar's core: the ports every adapter implements, one site's controller, and the services
//! that the UI's server functions, the JSON API and the CLI all call. Uses the domain crate;
//! knows no adapter, no web framework and no page.

pub mod controller;
pub mod ports;
pub mod services;
