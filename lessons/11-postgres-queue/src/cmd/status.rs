//! `status`: counts jobs per state, and effects applied.

use super::open;
use crate::StatusArgs;
use lesson_11::backoff::Backoff;
use lesson_11::job::State;
use lesson_11::store::StoreError;

pub(crate) fn status(a: &StatusArgs) -> Result<(), StoreError> {
    let mut store = open(&a.db, Backoff::default())?;
    let counts = store.counts()?;
    if a.json {
        let mut map = serde_json::Map::new();
        for state in State::ALL {
            map.insert(state.as_str().into(), counts.of(state).into());
        }
        map.insert("effects_applied".into(), counts.effects.into());
        println!("{}", serde_json::Value::Object(map));
        return Ok(());
    }
    println!("{}: {} jobs", store.server(), counts.total());
    for state in State::ALL {
        println!("  {:<10} {:>7}", state.as_str(), counts.of(state));
    }
    println!("  effects applied {:>7}", counts.effects);
    Ok(())
}
