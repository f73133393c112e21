//! Where every handler asks for permission. The decision itself is
//! `bdtx_domain::authz::decide`; this module only finds the target's place in the tree (from the
//! store) and turns a refusal into 403 or 404.

use bdtx_domain::authz::{Action, Decision, Principal, Role, Target, decide};

use crate::AppState;
use crate::error::AppError;

pub fn require(p: &Principal, action: Action, target: &Target) -> Result<(), AppError> {
    match decide(p, action, target) {
        Decision::Allow => Ok(()),
        Decision::Forbidden => Err(AppError::Forbidden),
        Decision::NotFound => Err(AppError::NotFound),
    }
}

/// The target for a unit: the unit and its ancestors. An unknown unit is a 404.
pub async fn unit_target(st: &AppState, unit_id: i64) -> Result<(bdtx_store::units::Unit, Target), AppError> {
    let unit = st.db.unit(unit_id).await?.ok_or(AppError::NotFound)?;
    let chain = st.db.unit_chain(&unit).await?;
    Ok((unit, Target::unit(chain)))
}

/// The target for a person. An unknown person and a person outside one's scope look the same.
pub async fn person_target(st: &AppState, person_id: i64) -> Result<(bdtx_store::people::Person, Target), AppError> {
    let person = st.db.person(person_id).await?.ok_or(AppError::NotFound)?;
    let chain = st.db.person_chain(person_id).await?;
    Ok((person, Target::person(person_id, chain)))
}

/// The subtree a listing (people, audit, roster, duplicates) covers: `unit` if given and the
/// action is allowed there (else 403), or the first subtree where the caller may do it; `None`
/// means everything (the Ministry).
pub async fn scope(st: &AppState, p: &Principal, unit: Option<i64>, action: Action) -> Result<Option<i64>, AppError> {
    if let Some(u) = unit {
        let (_, t) = unit_target(st, u).await?;
        return if p.can(action, &t) { Ok(Some(u)) } else { Err(AppError::Forbidden) };
    }
    if p.has_role(Role::MinistryAdmin) {
        return Ok(None);
    }
    for r in p.browse_roots() {
        let (_, t) = unit_target(st, r).await?;
        if p.can(action, &t) {
            return Ok(Some(r));
        }
    }
    Err(AppError::Forbidden)
}
