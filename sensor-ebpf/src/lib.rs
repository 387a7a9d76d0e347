//! Empty library target: lets `sensor` declare a build-dependency on this crate, so cargo
//! rebuilds the embedded programs when they change. The programs are in `main.rs`.
#![no_std]
