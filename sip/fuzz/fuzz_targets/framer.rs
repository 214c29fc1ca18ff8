//! The stream framer over input cut into chunks whose sizes come from the input itself:
//! never a frame over the limit, never more buffered than the limit plus one chunk.
#![no_main]

use herald_sip::{Frame, Limits, StreamFramer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, rest)) = data.split_first() else { return };
    let limits = Limits { max_message_size: 4096, ..Limits::default() };
    let mut framer = StreamFramer::new(limits);
    let chunk = usize::from(cut % 64) + 1;
    for piece in rest.chunks(chunk) {
        framer.push(piece);
        loop {
            match framer.next_frame() {
                Ok(Some(Frame::Message(m))) => {
                    assert!(m.to_bytes().len() <= limits.max_message_size + 64, "frame over the limit");
                }
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => return, // the connection would be closed
            }
        }
        assert!(framer.buffered() <= limits.max_message_size + 4 + chunk, "buffer grew past the limit");
    }
});
