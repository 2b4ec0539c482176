//! The GeoDB tables, one file per table area and an `impl` per area trait of the port:
//! `topology` (tags and sites), `backends`, `groups` (with the move LWTs), `users`, and
//! `cluster` (settings, reachability, group sites and stats).

mod backends;
mod cluster;
mod groups;
mod topology;
mod users;
