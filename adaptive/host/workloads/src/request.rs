//! The request handler: parse a JSON order, aggregate it, answer in JSON.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::{InputError, Rng};

/// Handles an order ([`request_input`]): sums quantities and amounts per
/// SKU, normalises the tags, and answers with a JSON summary.
pub fn request(input: &[u8]) -> Result<Vec<u8>, InputError> {
    let order: Value = serde_json::from_slice(input).map_err(InputError::Json)?;
    let user = order["user"].as_str().ok_or(InputError::Field("user"))?;
    let items = order["items"]
        .as_array()
        .ok_or(InputError::Field("items"))?;
    let mut lines: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for item in items {
        let sku = item["sku"].as_str().ok_or(InputError::Field("sku"))?;
        let qty = item["qty"].as_u64().ok_or(InputError::Field("qty"))?;
        let price = item["price"].as_u64().ok_or(InputError::Field("price"))?;
        let line = lines.entry(sku.to_owned()).or_default();
        line.0 += qty;
        line.1 += qty * price;
    }
    let mut tags: Vec<String> = order["tags"]
        .as_array()
        .ok_or(InputError::Field("tags"))?
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_uppercase)
        .collect();
    tags.sort();
    tags.dedup();
    let total: u64 = lines.values().map(|l| l.1).sum();
    let lines: Vec<Value> = lines
        .into_iter()
        .map(|(sku, (qty, amount))| json!({ "sku": sku, "qty": qty, "amount": amount }))
        .collect();
    let summary = format!("{} lines for {user}, total {total}", lines.len());
    let response = json!({
        "user": user,
        "lines": lines,
        "tags": tags,
        "total": total,
        "summary": summary,
    });
    Ok(serde_json::to_vec(&response).expect("a Value always serializes"))
}

/// A seeded order of `items` items over a few dozen SKUs, with tags, as
/// JSON.
#[must_use]
pub fn request_input(seed: u64, items: usize) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let items: Vec<Value> = (0..items)
        .map(|_| {
            json!({
                "sku": format!("sku-{:03}", rng.below(40)),
                "qty": 1 + rng.below(9),
                "price": 100 + rng.below(9_900),
            })
        })
        .collect();
    let tags: Vec<String> = (0..1 + rng.below(6))
        .map(|_| format!("tag{}", rng.below(5)))
        .collect();
    let order =
        json!({ "user": format!("user-{}", rng.below(1000)), "items": items, "tags": tags });
    serde_json::to_vec(&order).expect("a Value always serializes")
}
