//! The side of EVTX reading that touches the untrusted bytes: the `evtx` crate turns the file
//! into records, each record into a [`WinRecord`], and each becomes one [`WorkerLine`].
//!
//! It runs in the resource-limited child process that [`super::evtx`] starts (the sensor
//! binary re-executed with the hidden `evtx-worker` subcommand: [`main`]), where the file is
//! standard input and the lines, one JSON object each, go to standard output. The same code
//! runs in-process for [`super::evtx::read_unisolated`].
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::fd::AsFd;
use std::process::ExitCode;

use serde::{Deserialize, Serialize};

use super::record::WinRecord;
use crate::error::one_line;

/// The hidden subcommand that runs [`main`].
pub const SUBCOMMAND: &str = "evtx-worker";

/// One line of the worker's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerLine {
    /// A record.
    Record(WinRecord),
    /// A record or chunk the parser could not read; it goes on with the next.
    Bad { message: String },
    /// The file cannot be read at all (no EVTX header, I/O error); nothing follows.
    Fatal { message: String },
    /// The end of the file: every record was read. Nothing follows.
    End { records: u64, bad: u64 },
}

/// Parses the EVTX file `input`, giving `emit` every line in order; returns when the file
/// ends, or at once with `emit`'s error.
pub fn parse<R: Read + Seek>(
    mut input: R,
    emit: &mut dyn FnMut(WorkerLine) -> io::Result<()>,
) -> io::Result<()> {
    let len = input
        .seek(SeekFrom::End(0))
        .and_then(|len| input.rewind().map(|()| len));
    let len = match len {
        Ok(len) => len,
        Err(e) => {
            return emit(WorkerLine::Fatal {
                message: format!("cannot seek in the input (EVTX needs a file): {e}"),
            });
        }
    };
    let mut parser = match evtx::EvtxParser::from_read_seek(input) {
        Ok(parser) => parser,
        Err(e) => {
            return emit(WorkerLine::Fatal {
                message: format!("not a readable EVTX file: {}", one_line(&e)),
            });
        }
    };
    let truncated = truncation(len, parser.header().chunk_count);
    let (mut records, mut bad) = (0u64, 0u64);
    for item in parser.records_json_value() {
        let line = match item {
            Ok(rendered) => match WinRecord::from_evtx_json(&rendered.data) {
                Ok(mut record) => {
                    record.record_id.get_or_insert(rendered.event_record_id);
                    if record.time_created.is_none() {
                        record.time_created = Some(rendered.timestamp.to_string());
                    }
                    records += 1;
                    WorkerLine::Record(record)
                }
                Err(e) => {
                    bad += 1;
                    WorkerLine::Bad {
                        message: format!("record {}: {e}", rendered.event_record_id),
                    }
                }
            },
            Err(e) => {
                bad += 1;
                WorkerLine::Bad {
                    message: one_line(&e),
                }
            }
        };
        emit(line)?;
    }
    if let Some(message) = truncated {
        bad += 1;
        emit(WorkerLine::Bad { message })?;
    }
    emit(WorkerLine::End { records, bad })
}

/// An EVTX file is a 4 KiB header and whole 64 KiB chunks, as many as the header counts (a
/// log copied while Windows was writing it may hold more). Fewer, or a piece of a chunk at the
/// end, is a cut file: what the missing part held is lost.
fn truncation(len: u64, chunk_count: u16) -> Option<String> {
    let data = len.checked_sub(HEADER_BLOCK)?;
    let (whole, partial) = (data / CHUNK, data % CHUNK);
    (partial != 0 || whole < u64::from(chunk_count)).then(|| {
        format!(
            "the file is truncated: its header counts {chunk_count} chunks of 64 KiB, it holds \
             {whole} and {partial} bytes more; the records in the missing part are lost"
        )
    })
}

/// The file header block, and a chunk (the `evtx` crate's `EVTX_FILE_HEADER_SIZE` and
/// `EVTX_CHUNK_SIZE`, from libyal's "Windows XML Event Log (EVTX) format").
const HEADER_BLOCK: u64 = 4096;
const CHUNK: u64 = 65536;

/// `sensor evtx-worker`: standard input (a regular file, for seeking) is parsed, the lines go
/// to standard output. Exit code 0 when every line was written, 1 when standard output failed
/// (the reader went away) or standard input is not a file.
pub fn main() -> ExitCode {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
    let input = match io::stdin().as_fd().try_clone_to_owned() {
        Ok(fd) => File::from(fd),
        Err(e) => {
            let line = WorkerLine::Fatal {
                message: format!("standard input: {e}"),
            };
            return match write_line(&mut out, &line).and_then(|()| out.flush()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::FAILURE,
            };
        }
    };
    let result = parse(input, &mut |line| write_line(&mut out, &line)).and_then(|()| out.flush());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sensor evtx-worker: writing the records: {e}");
            ExitCode::FAILURE
        }
    }
}

fn write_line(out: &mut impl Write, line: &WorkerLine) -> io::Result<()> {
    serde_json::to_writer(&mut *out, line).map_err(io::Error::other)?;
    out.write_all(b"\n")
}
