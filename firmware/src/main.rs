//! A receiver's verification on a microcontroller: the signature header and body as a
//! network stack would hand them over, the time from the chip's clock, the event
//! parsed. Built for `thumbv7em-none-eabihf` in CI; it links only if the core needs
//! nothing from `std` and nothing the target lacks.
#![no_std]
#![no_main]

use core::mem::MaybeUninit;

use cortex_m as _;
use cortex_m_rt::entry;
use embedded_alloc::LlffHeap as Heap;
use nexio_webhooks::{EventKind, Secret, Verifier};

#[global_allocator]
static HEAP: Heap = Heap::empty();

const HEAP_SIZE: usize = 32 * 1024;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {
        cortex_m::asm::wfi();
    }
}

/// Whether a delivery verifies and is a completed run. `black_box` stands for the
/// inputs a real program reads at run time, so none of the work is folded away.
fn receive(secret: &str, header: &str, body: &[u8], now: i64) -> bool {
    let Ok(secret) = Secret::new(secret) else {
        return false;
    };
    let verifier = Verifier::new(secret);
    let headers = [("X-Nexio-Signature", header)];
    match verifier.verify_at(&headers[..], body, now) {
        Ok(verified) => verified
            .event()
            .is_ok_and(|event| event.kind() == EventKind::RunCompleted),
        Err(_) => false,
    }
}

#[entry]
fn main() -> ! {
    static mut HEAP_MEM: [MaybeUninit<u8>; HEAP_SIZE] = [MaybeUninit::uninit(); HEAP_SIZE];
    // SAFETY: called once, before any allocation; `HEAP_MEM` is used by nothing else.
    unsafe { HEAP.init(HEAP_MEM.as_mut_ptr() as usize, HEAP_SIZE) }

    let accepted = receive(
        core::hint::black_box("whsec_abc123def456"),
        core::hint::black_box(
            "t=1774180800,v1=0000000000000000000000000000000000000000000000000000000000000000",
        ),
        core::hint::black_box(nexio_webhooks::sample::RUN_COMPLETED.as_bytes()),
        core::hint::black_box(1_774_180_830),
    );
    core::hint::black_box(accepted);
    loop {
        cortex_m::asm::wfi();
    }
}
