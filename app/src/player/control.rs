//! How the player reaches its engine. The engine is a lazily loaded WASM chunk
//! ([`engine::run`]): nothing is fetched until the first track loads. Commands sent while
//! it loads wait, in order, and run once it is there; after that each runs at once, in
//! the caller's turn (the gapless hand-over and the position updates depend on that).
//! Before anything has loaded there is nothing to seek, pause or follow, so only a load
//! starts the engine and the other commands are dropped.

use super::PlayerCtx;
use super::engine::{self, Cmd};
use futures::FutureExt;
use std::cell::RefCell;

enum State {
    Cold,
    Loading(Vec<Cmd>),
    Ready,
}

thread_local! {
    static STATE: RefCell<State> = const { RefCell::new(State::Cold) };
}

pub fn send(p: PlayerCtx, cmd: Cmd) {
    // Decided with the state borrowed, run after: the engine sends commands itself (a
    // track ends, the queue moves on).
    let run_now = STATE.with(|s| {
        let mut s = s.borrow_mut();
        match &mut *s {
            State::Ready => Some(cmd),
            State::Loading(waiting) => {
                waiting.push(cmd);
                None
            }
            State::Cold if matches!(cmd, Cmd::Load(..)) => {
                *s = State::Loading(vec![cmd]);
                leptos::task::spawn_local(drain(p));
                None
            }
            State::Cold => None,
        }
    });
    if let Some(cmd) = run_now {
        // The chunk is loaded, so this completes on its first poll (were it not to, it
        // finishes as a task).
        let mut call = Box::pin(engine::run(p, cmd));
        if (&mut call).now_or_never().is_none() {
            leptos::task::spawn_local(call);
        }
    }
}

/// Loads the engine with the first command, then runs those that came meanwhile.
async fn drain(p: PlayerCtx) {
    loop {
        let next = STATE.with(|s| {
            let mut s = s.borrow_mut();
            match &mut *s {
                State::Loading(waiting) if !waiting.is_empty() => Some(waiting.remove(0)),
                state => {
                    *state = State::Ready;
                    None
                }
            }
        });
        match next {
            Some(cmd) => engine::run(p, cmd).await,
            None => break,
        }
    }
}
