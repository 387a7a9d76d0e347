//! Opening an input: a file or stdin, gunzipped when it starts with gzip's magic, its format
//! told by its first bytes unless the caller named one.
use std::{
    fs::File,
    io::{self, BufRead, BufReader, Read},
    time::SystemTime,
};

use flate2::read::MultiGzDecoder;

use super::{
    Input,
    detect::{self, Format, HEAD_LEN},
    error::ErrorKind,
    progress::Progress,
};

/// Read buffer of every input: large enough that nearly every line is handed out from it.
const BUFFER: usize = 256 * 1024;

/// An opened input, ready to read from its first byte.
pub struct Opened {
    pub reader: Box<dyn BufRead>,
    pub format: Format,
    pub gzip: bool,
    /// The file's length, when the bytes read are the file's own (not stdin, not gunzipped).
    pub file_len: Option<u64>,
    /// The file's modification time (the year reference of classic timestamps).
    pub mtime: Option<SystemTime>,
}

/// Opens `input`; `format` overrides detection (gzip is always told by its magic).
pub fn open(
    input: &Input,
    format: Option<Format>,
    progress: &Progress,
) -> Result<Opened, ErrorKind> {
    let (raw, file_len, mtime): (Box<dyn Read>, _, _) = match input {
        Input::Stdin => (Box::new(io::stdin()), None, None),
        Input::Memory { bytes, .. } => (
            Box::new(io::Cursor::new(bytes.clone())),
            Some(bytes.len() as u64),
            None,
        ),
        Input::File(path) => {
            let file = File::open(path).map_err(ErrorKind::Open)?;
            let meta = file.metadata().map_err(ErrorKind::Open)?;
            if meta.is_dir() {
                return Err(ErrorKind::Directory);
            }
            let len = meta.is_file().then_some(meta.len());
            (progress.wrap(file), len, meta.modified().ok())
        }
    };
    let head = Peeked::new(raw);
    let (stream, gzip): (Peeked<Box<dyn Read>>, bool) = if detect::is_gzip(&head.head) {
        (Peeked::new(Box::new(MultiGzDecoder::new(head))), true)
    } else {
        (head, false)
    };
    let format = format.unwrap_or_else(|| detect::detect(&stream.head));
    Ok(Opened {
        reader: Box::new(BufReader::with_capacity(BUFFER, stream)),
        format,
        gzip,
        file_len: file_len.filter(|_| !gzip),
        mtime,
    })
}

/// A reader whose first bytes were read ahead to tell its format. A read error met while
/// reading ahead is handed out where it happened, after the bytes before it.
struct Peeked<R> {
    head: Vec<u8>,
    at: usize,
    error: Option<io::Error>,
    rest: R,
}

impl<R: Read> Peeked<R> {
    fn new(mut rest: R) -> Self {
        let mut head = vec![0u8; HEAD_LEN];
        let mut n = 0;
        let mut error = None;
        while n < head.len() {
            match rest.read(head.get_mut(n..).unwrap_or_default()) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        head.truncate(n);
        Self {
            head,
            at: 0,
            error,
            rest,
        }
    }
}

impl<R: Read> Read for Peeked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(left) = self.head.get(self.at..).filter(|l| !l.is_empty()) {
            let n = left.len().min(buf.len());
            buf.get_mut(..n)
                .unwrap_or_default()
                .copy_from_slice(left.get(..n).unwrap_or_default());
            self.at += n;
            return Ok(n);
        }
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.rest.read(buf)
    }
}
