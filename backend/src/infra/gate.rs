//! A limiter of this node's expensive work: a cap in all and a cap per user.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Caps on work running on this node (Subsonic transcodes): in all and per user.
pub struct Gate {
    max_total: usize,
    max_per_user: usize,
    running: Mutex<(usize, HashMap<String, usize>)>,
}

/// A running job's place under the [`Gate`]; given back when dropped.
pub struct Permit {
    gate: Arc<Gate>,
    user: String,
}

impl Gate {
    pub fn new(max_total: usize, max_per_user: usize) -> Arc<Gate> {
        Arc::new(Gate {
            max_total,
            max_per_user,
            running: Mutex::new((0, HashMap::new())),
        })
    }

    /// A place for `user`'s job, or `None` when the node or the user is at the cap.
    pub fn enter(self: &Arc<Gate>, user: &str) -> Option<Permit> {
        let mut r = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let mine = r.1.get(user).copied().unwrap_or(0);
        if r.0 >= self.max_total || mine >= self.max_per_user {
            return None;
        }
        r.0 += 1;
        r.1.insert(user.to_string(), mine + 1);
        Some(Permit {
            gate: self.clone(),
            user: user.to_string(),
        })
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut r = self.gate.running.lock().unwrap_or_else(|e| e.into_inner());
        r.0 = r.0.saturating_sub(1);
        if let Some(n) = r.1.get_mut(&self.user) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                r.1.remove(&self.user);
            }
        }
    }
}
