//! What the pages and the API both do: each function authorizes (through [`crate::access`]),
//! calls the store and returns plain data. Pages render it as HTML, the API as JSON.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use bdtx_domain::authz::{Action, Principal, Role, Target};
use bdtx_domain::dates::{parse_date, today};
use bdtx_domain::org::{Restructure, UnitKind, parse_levels};
use bdtx_domain::people::{FieldGroup, PersonDraft, PersonFields, validate};
use bdtx_store::audit::AuditEntry;
use bdtx_store::catalog::Module;
use bdtx_store::people::{CoreStatus, PeopleQuery, Person, PersonRow, Stay};
use bdtx_store::units::{NewUnit, TreeNode, Unit};

use crate::AppState;
use crate::access::{person_target, require, unit_target};
use crate::error::AppError;

pub const PAGE_SIZE: i64 = 50;

/// Parse an optional user date (dd/mm/yyyy or ISO); empty means today.
pub fn date_or_today(s: Option<&str>, field: &str) -> Result<NaiveDate, AppError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(today()),
        Some(s) => parse_date(s).ok_or_else(|| AppError::invalid(field, "invalid_date")),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TreeRoot {
    pub unit: Unit,
    /// Units below the root at the date, depth-first in Vietnamese name order.
    pub nodes: Vec<TreeNode>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TreeView {
    /// ISO date the tree is shown at.
    pub at: String,
    pub roots: Vec<TreeRoot>,
}

/// The organisation tree at a date, from the caller's roots (or one root they may see).
pub async fn tree(
    st: &AppState,
    p: &Principal,
    root: Option<i64>,
    at: NaiveDate,
    depth: i64,
) -> Result<TreeView, AppError> {
    let roots = match root {
        Some(r) => {
            let (_, t) = unit_target(st, r).await?;
            require(p, Action::ViewUnit, &t)?;
            vec![r]
        }
        None if p.has_role(bdtx_domain::authz::Role::MinistryAdmin) => {
            st.db.roots(today()).await?.into_iter().map(|u| u.id).collect()
        }
        None => p.browse_roots(),
    };
    if roots.is_empty() {
        return Err(AppError::Forbidden);
    }
    let mut out = Vec::new();
    for r in roots {
        for unit in st.db.stand_ins_at(r, at).await? {
            let nodes = st.db.subtree(unit.id, at, depth.clamp(1, 6)).await?;
            out.push(TreeRoot { unit, nodes });
        }
    }
    Ok(TreeView { at: bdtx_domain::dates::iso(at), roots: out })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ParentLink {
    pub parent_id: i64,
    pub parent_name: String,
    pub valid_from: String,
    pub valid_to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnitView {
    pub unit: Unit,
    /// Names from the top of the tree down to the unit's parent (today, or on its last day).
    pub breadcrumb: Vec<UnitRef>,
    pub parents: Vec<ParentLink>,
    pub predecessors: Vec<Unit>,
    pub successor: Option<Unit>,
    pub children: Vec<TreeNode>,
    /// For a university: the provinces it covers.
    pub covers: Vec<UnitRef>,
    pub can_manage: bool,
    pub can_add_person: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnitRef {
    pub id: i64,
    pub name: String,
}

pub async fn unit_view(st: &AppState, p: &Principal, id: i64, at: NaiveDate) -> Result<UnitView, AppError> {
    let (unit, target) = unit_target(st, id).await?;
    require(p, Action::ViewUnit, &target)?;
    let mut breadcrumb = Vec::new();
    let day = unit.valid_to.as_deref().and_then(|d| parse_date(d)).and_then(|d| d.pred_opt()).unwrap_or_else(today);
    for a in st.db.ancestors(id, day).await?.into_iter().skip(1).rev() {
        if let Some(u) = st.db.unit(a).await? {
            breadcrumb.push(UnitRef { id: u.id, name: u.name });
        }
    }
    let parents = st
        .db
        .unit_parents(id)
        .await?
        .into_iter()
        .map(|(parent_id, parent_name, valid_from, valid_to)| ParentLink {
            parent_id,
            parent_name,
            valid_from,
            valid_to,
        })
        .collect();
    let successor = match unit.successor_id {
        Some(s) => st.db.unit(s).await?,
        None => None,
    };
    let covers = st.db.university_coverage(id).await?.into_iter().map(|(id, name)| UnitRef { id, name }).collect();
    Ok(UnitView {
        covers,
        predecessors: st.db.predecessors(id).await?,
        children: st.db.subtree(id, at, 1).await?,
        can_manage: p.can(Action::ManageUnit, &target),
        can_add_person: p.can(Action::AddPerson, &target),
        unit,
        breadcrumb,
        parents,
        successor,
    })
}

/// A restructuring as a form or JSON body sends it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct RestructureInput {
    /// merge (into an existing unit), merge_new (with others into a new unit), rename, move, dissolve
    pub kind: String,
    /// Effective date, dd/mm/yyyy or yyyy-mm-dd.
    pub effective: String,
    /// For merge_new: codes of the other units merging, comma separated.
    #[serde(default)]
    pub others: Option<String>,
    /// For merge, dissolve: code of the receiving unit; for move: code of the new parent.
    #[serde(default)]
    pub target: Option<String>,
    /// For merge_new and rename: the new unit's code and name.
    #[serde(default)]
    pub new_code: Option<String>,
    #[serde(default)]
    pub new_name: Option<String>,
}

async fn unit_by_code_managed(st: &AppState, p: &Principal, code: Option<&str>, field: &str) -> Result<Unit, AppError> {
    let code = code.map(str::trim).filter(|c| !c.is_empty()).ok_or_else(|| AppError::invalid(field, "required"))?;
    let u = st.db.unit_by_code(code).await?.ok_or_else(|| AppError::invalid(field, "not_found"))?;
    let chain = st.db.unit_chain(&u).await?;
    require(p, Action::ManageUnit, &Target::unit(chain))?;
    Ok(u)
}

/// Apply a restructuring of unit `id`; returns the id of the resulting unit.
pub async fn restructure(st: &AppState, p: &Principal, id: i64, input: &RestructureInput) -> Result<i64, AppError> {
    let (unit, target) = unit_target(st, id).await?;
    require(p, Action::ManageUnit, &target)?;
    let effective = parse_date(&input.effective).ok_or_else(|| AppError::invalid("effective", "invalid_date"))?;
    let kind = UnitKind::parse(&unit.kind).ok_or_else(|| AppError::Internal("unit kind".into()))?;
    let actor = Some(p.account_id);
    let new_unit = |code: &Option<String>, name: &Option<String>| NewUnit {
        code: code.clone().unwrap_or_default(),
        kind,
        name: name.clone().unwrap_or_default(),
        levels: bdtx_domain::org::parse_levels(&unit.levels).unwrap_or_default(),
        parent_id: None,
        valid_from: effective,
        valid_to: None,
    };
    let result = match input.kind.as_str() {
        "merge" => {
            let into = unit_by_code_managed(st, p, input.target.as_deref(), "target").await?;
            st.db.merge_units(actor, Restructure::Merge, &[id], Some(into.id), None, effective).await?
        }
        "dissolve" => {
            let into = unit_by_code_managed(st, p, input.target.as_deref(), "target").await?;
            st.db.merge_units(actor, Restructure::Dissolve, &[id], Some(into.id), None, effective).await?
        }
        "merge_new" => {
            let mut sources = vec![id];
            for code in input.others.as_deref().unwrap_or_default().split(',').map(str::trim).filter(|c| !c.is_empty())
            {
                sources.push(unit_by_code_managed(st, p, Some(code), "sources").await?.id);
            }
            st.db
                .merge_units(
                    actor,
                    Restructure::Merge,
                    &sources,
                    None,
                    Some(new_unit(&input.new_code, &input.new_name)),
                    effective,
                )
                .await?
        }
        "rename" => {
            st.db
                .merge_units(
                    actor,
                    Restructure::Rename,
                    &[id],
                    None,
                    Some(new_unit(&input.new_code, &input.new_name)),
                    effective,
                )
                .await?
        }
        "move" => {
            let parent = unit_by_code_managed(st, p, input.target.as_deref(), "parent").await?;
            st.db.move_unit(actor, id, parent.id, effective).await?;
            id
        }
        _ => return Err(AppError::invalid("kind", "invalid")),
    };
    // The tree changes on the effective date: the dashboards' tallies are recounted then.
    let run_at = bdtx_domain::round::day_start(effective).max(bdtx_domain::dates::now_unix());
    st.db
        .enqueue_job(&bdtx_store::jobs::NewJob {
            kind: "rebuild_tallies",
            payload: serde_json::json!({}),
            dedupe_key: Some(format!("rebuild_tallies:{effective}:{result}")),
            unit_id: Some(result),
            created_by: actor,
            run_at: Some(run_at),
        })
        .await?;
    Ok(result)
}

/// People the caller may see, matching the query, in Vietnamese order.
pub async fn search_people(
    st: &AppState,
    p: &Principal,
    q: &str,
    within: Option<i64>,
    page: i64,
) -> Result<Vec<PersonRow>, AppError> {
    if q.chars().count() > 100 {
        return Err(AppError::invalid("q", "too_long"));
    }
    let within = crate::access::scope(st, p, within, Action::ViewPerson).await?;
    let rows = st
        .db
        .search_people(&PeopleQuery { q: q.to_string(), within, limit: PAGE_SIZE + 1, offset: page.max(0) * PAGE_SIZE })
        .await?;
    Ok(rows)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountInfo {
    pub username: String,
    pub activated: bool,
    pub locked_until: Option<i64>,
    pub last_login_at: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PersonPerms {
    pub edit_identity: bool,
    pub edit_professional: bool,
    pub edit_contact: bool,
    pub manage_account: bool,
    /// The caller administers some unit, so may try to grant roles (checked per unit on submit).
    pub grant_roles: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PersonView {
    pub person: Person,
    pub stays: Vec<Stay>,
    pub core: Vec<CoreStatus>,
    pub account: Option<AccountInfo>,
    pub roles: Vec<bdtx_store::accounts::GrantRow>,
    pub can: PersonPerms,
}

pub async fn person_view(st: &AppState, p: &Principal, id: i64) -> Result<PersonView, AppError> {
    let (person, t) = person_target(st, id).await?;
    require(p, Action::ViewPerson, &t)?;
    let acc = st.db.account_of_person(id).await?;
    let roles = match &acc {
        Some(a) => st.db.grants_of(a.id).await?,
        None => vec![],
    };
    let account = acc.map(|a| AccountInfo {
        activated: a.activated(),
        username: a.username,
        locked_until: a.locked_until.filter(|u| *u > bdtx_domain::dates::now_unix()),
        last_login_at: a.last_login_at,
    });
    Ok(PersonView {
        stays: st.db.stays(id).await?,
        core: st.db.core_status(id).await?,
        account,
        can: PersonPerms {
            edit_identity: p.can(Action::EditPerson(FieldGroup::Identity), &t),
            edit_professional: p.can(Action::EditPerson(FieldGroup::Professional), &t),
            edit_contact: p.can(Action::EditPerson(FieldGroup::Contact), &t),
            manage_account: p.can(Action::ManageAccount, &t),
            grant_roles: p.grants.iter().any(|g| {
                matches!(g.role, Role::MinistryAdmin | Role::ProvinceAdmin | Role::CommuneAdmin | Role::SchoolAdmin)
            }),
        },
        roles,
        person,
    })
}

fn changed_groups(a: &PersonFields, b: &PersonFields) -> Vec<FieldGroup> {
    let mut g = Vec::new();
    if a.full_name != b.full_name
        || a.birth_date != b.birth_date
        || a.gender != b.gender
        || a.national_id != b.national_id
    {
        g.push(FieldGroup::Identity);
    }
    if a.position != b.position
        || a.levels != b.levels
        || a.main_subject != b.main_subject
        || a.other_subjects != b.other_subjects
    {
        g.push(FieldGroup::Professional);
    }
    if a.phone != b.phone || a.email != b.email {
        g.push(FieldGroup::Contact);
    }
    g
}

/// Change a person: every changed group of fields must be allowed to the caller.
pub async fn edit_person(st: &AppState, p: &Principal, id: i64, draft: &PersonDraft) -> Result<Person, AppError> {
    let (person, t) = person_target(st, id).await?;
    require(p, Action::ViewPerson, &t)?;
    let before = person.fields();
    let after = validate(draft, Some(&before))?;
    let groups = changed_groups(&before, &after);
    for g in &groups {
        require(p, Action::EditPerson(*g), &t)?;
    }
    if !groups.is_empty() {
        st.db.update_person(Some(p.account_id), id, &after).await?;
    }
    st.db.person(id).await?.ok_or(AppError::NotFound)
}

/// Issue an activation code for the person's account (creating the account if missing).
pub async fn issue_activation(st: &AppState, p: &Principal, id: i64) -> Result<(String, String), AppError> {
    let (_, t) = person_target(st, id).await?;
    require(p, Action::ManageAccount, &t)?;
    let account = st.db.ensure_account(id).await?;
    let unit = t.units.first().copied();
    let code = st.db.issue_activation(Some(p.account_id), account.id, unit).await?;
    Ok((account.username, code))
}

pub async fn unlock(st: &AppState, p: &Principal, id: i64) -> Result<(), AppError> {
    let (_, t) = person_target(st, id).await?;
    require(p, Action::ManageAccount, &t)?;
    let account = st.db.account_of_person(id).await?.ok_or(AppError::NotFound)?;
    st.db.unlock_account(Some(p.account_id), account.id, t.units.first().copied()).await?;
    Ok(())
}

/// The audit log of a subtree the caller administers (the whole log for the Ministry).
pub async fn audit(
    st: &AppState,
    p: &Principal,
    unit: Option<i64>,
    before: Option<i64>,
) -> Result<Vec<AuditEntry>, AppError> {
    let root = crate::access::scope(st, p, unit, Action::ViewAudit).await?;
    Ok(st.db.audit_list(root, before, PAGE_SIZE).await?)
}

pub async fn modules(st: &AppState, family: Option<&str>) -> Result<Vec<Module>, AppError> {
    Ok(st.db.modules(family.filter(|f| !f.is_empty())).await?)
}

pub async fn edit_module(
    st: &AppState,
    p: &Principal,
    code: &str,
    title_vi: &str,
    title_en: &str,
) -> Result<Module, AppError> {
    require(p, Action::EditCatalog, &Target::global())?;
    st.db.update_module_titles(Some(p.account_id), code, title_vi, title_en).await?;
    st.db.module(code).await?.ok_or(AppError::NotFound)
}

/// A new unit under an existing one.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct NewUnitInput {
    /// ASCII code, unique (e.g. NB-KS02-TH-B).
    pub code: String,
    pub name: String,
    /// province, commune, cluster, school, university
    pub kind: String,
    /// For schools: e.g. "TH,THCS".
    #[serde(default)]
    pub levels: Option<String>,
    /// dd/mm/yyyy or yyyy-mm-dd; default today.
    #[serde(default)]
    pub valid_from: Option<String>,
}

pub async fn create_unit(st: &AppState, p: &Principal, parent_id: i64, input: &NewUnitInput) -> Result<i64, AppError> {
    let (_, t) = unit_target(st, parent_id).await?;
    require(p, Action::ManageUnit, &t)?;
    let kind = UnitKind::parse(input.kind.trim()).ok_or_else(|| AppError::invalid("kind", "invalid"))?;
    let levels = parse_levels(input.levels.as_deref().unwrap_or(""))
        .map_err(|_| AppError::invalid("levels", "invalid_level"))?;
    let valid_from = date_or_today(input.valid_from.as_deref(), "valid_from")?;
    let n = NewUnit {
        code: input.code.clone(),
        kind,
        name: input.name.clone(),
        levels,
        parent_id: Some(parent_id),
        valid_from,
        valid_to: None,
    };
    Ok(st.db.create_unit(Some(p.account_id), &n).await?)
}

/// A new person working at a unit from a date.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct NewPersonInput {
    /// The unit (school, office) they work at; pages take it from the URL.
    #[serde(default)]
    pub unit_id: Option<i64>,
    /// First day at the unit (dd/mm/yyyy or yyyy-mm-dd); default today.
    #[serde(default)]
    pub from: Option<String>,
    pub full_name: Option<String>,
    pub birth_date: Option<String>,
    pub gender: Option<String>,
    pub national_id: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub position: Option<String>,
    pub levels: Option<String>,
    pub main_subject: Option<String>,
    pub other_subjects: Option<String>,
}

/// The person fields an input carries, as a draft to validate (one list for every input that
/// carries a whole person).
macro_rules! person_draft {
    ($i:expr) => {
        PersonDraft {
            full_name: $i.full_name.clone(),
            birth_date: $i.birth_date.clone(),
            gender: $i.gender.clone(),
            national_id: $i.national_id.clone(),
            phone: $i.phone.clone(),
            email: $i.email.clone(),
            position: $i.position.clone(),
            levels: $i.levels.clone(),
            main_subject: $i.main_subject.clone(),
            other_subjects: $i.other_subjects.clone(),
        }
    };
}

/// Add a person (and their account, waiting for activation). The same real person twice is a
/// conflict on "identity".
pub async fn create_person(
    st: &AppState,
    p: &Principal,
    unit_id: i64,
    input: &NewPersonInput,
) -> Result<Person, AppError> {
    let (_, t) = unit_target(st, unit_id).await?;
    require(p, Action::AddPerson, &t)?;
    let fields = validate(&person_draft!(input), None)?;
    let from = date_or_today(input.from.as_deref(), "from")?;
    let id = st.db.create_person(Some(p.account_id), &fields, unit_id, from).await?;
    st.db.ensure_account(id).await?;
    st.db.person(id).await?.ok_or(AppError::NotFound)
}

/// A move to another unit from a date (chuyển công tác).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct MoveInput {
    /// Code of the unit the person moves to.
    pub unit_code: String,
    /// First day at the new unit.
    pub date: String,
}

pub async fn move_person(st: &AppState, p: &Principal, id: i64, input: &MoveInput) -> Result<(), AppError> {
    let (_, t) = person_target(st, id).await?;
    require(p, Action::ViewPerson, &t)?;
    require(p, Action::EditPerson(FieldGroup::Professional), &t)?;
    let dest =
        st.db.unit_by_code(input.unit_code.trim()).await?.ok_or_else(|| AppError::invalid("unit", "not_found"))?;
    let chain = st.db.unit_chain(&dest).await?;
    require(p, Action::AddPerson, &Target::unit(chain))?;
    let date = parse_date(&input.date).ok_or_else(|| AppError::invalid("date", "invalid_date"))?;
    Ok(st.db.move_person(Some(p.account_id), id, dest.id, date).await?)
}

/// Core status for a module and subject (cốt cán).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct CoreInput {
    /// A catalog code, e.g. GV4660-02.
    pub module_code: String,
    #[serde(default)]
    pub subject: Option<String>,
    /// dd/mm/yyyy or yyyy-mm-dd; default today.
    #[serde(default)]
    pub since: Option<String>,
}

pub async fn add_core(st: &AppState, p: &Principal, id: i64, input: &CoreInput) -> Result<(), AppError> {
    let (_, t) = person_target(st, id).await?;
    require(p, Action::ViewPerson, &t)?;
    require(p, Action::EditPerson(FieldGroup::Professional), &t)?;
    let since = date_or_today(input.since.as_deref(), "since")?;
    let subject = bdtx_domain::text::clean(input.subject.as_deref().unwrap_or(""));
    if subject.chars().count() > 200 {
        return Err(AppError::invalid("subject", "too_long"));
    }
    Ok(st.db.add_core_status(Some(p.account_id), id, input.module_code.trim(), &subject, since).await?)
}

/// A role to grant to a person over a unit.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct RoleInput {
    /// ministry_admin, province_admin, commune_admin, school_admin, key_lecturer, core_teacher, lms_operator
    pub role: String,
    /// Code of the unit whose subtree the role covers.
    pub unit_code: String,
}

/// Which kind of unit a role is granted on.
fn role_fits(role: Role, kind: UnitKind) -> bool {
    match role {
        Role::MinistryAdmin => kind == UnitKind::Ministry,
        Role::ProvinceAdmin => kind == UnitKind::Province,
        Role::CommuneAdmin => kind == UnitKind::Commune,
        Role::SchoolAdmin | Role::CoreTeacher => kind == UnitKind::School,
        Role::KeyLecturer => kind == UnitKind::University,
        Role::LmsOperator => matches!(kind, UnitKind::Ministry | UnitKind::Province),
    }
}

pub async fn grant_role(st: &AppState, p: &Principal, person_id: i64, input: &RoleInput) -> Result<(), AppError> {
    let (_, t) = person_target(st, person_id).await?;
    require(p, Action::ViewPerson, &t)?;
    let role = Role::parse(input.role.trim()).ok_or_else(|| AppError::invalid("role", "invalid"))?;
    let unit =
        st.db.unit_by_code(input.unit_code.trim()).await?.ok_or_else(|| AppError::invalid("unit", "not_found"))?;
    let chain = st.db.unit_chain(&unit).await?;
    require(p, Action::GrantRole(role), &Target::unit(chain))?;
    let kind = UnitKind::parse(&unit.kind).ok_or_else(|| AppError::Internal("unit kind".into()))?;
    if !role_fits(role, kind) || unit.valid_to.is_some() {
        return Err(AppError::invalid("unit", "kind_not_allowed"));
    }
    let account = st.db.ensure_account(person_id).await?.id;
    st.db.grant_role(Some(p.account_id), account, role, unit.id).await?;
    st.auth_cache.invalidate_all();
    Ok(())
}

/// Withdraw a role; allowed to whoever could have granted it.
pub async fn revoke_role(st: &AppState, p: &Principal, grant_id: i64) -> Result<(), AppError> {
    let (_, g) = st.db.grant(grant_id).await?.ok_or(AppError::NotFound)?;
    let role = Role::parse(&g.role).ok_or_else(|| AppError::Internal("role".into()))?;
    let (_, t) = unit_target(st, g.unit_id).await?;
    require(p, Action::GrantRole(role), &t)?;
    st.db.revoke_role(Some(p.account_id), grant_id).await?;
    st.auth_cache.invalidate_all();
    Ok(())
}

/// A province a university covers.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct CoverageInput {
    pub province_code: String,
}

pub async fn add_coverage(
    st: &AppState,
    p: &Principal,
    university: i64,
    input: &CoverageInput,
) -> Result<(), AppError> {
    let (_, t) = unit_target(st, university).await?;
    require(p, Action::ManageUnit, &t)?;
    let province = st
        .db
        .unit_by_code(input.province_code.trim())
        .await?
        .ok_or_else(|| AppError::invalid("province", "not_found"))?;
    st.db.set_university_coverage(Some(p.account_id), university, province.id).await?;
    st.auth_cache.invalidate_all();
    Ok(())
}

/// Change one's own password: the current one is checked (and counted like a login attempt).
pub async fn change_password(
    st: &AppState,
    ip: std::net::IpAddr,
    auth: &crate::auth::Auth,
    current: &str,
    new: &str,
) -> Result<(), AppError> {
    if !bdtx_store::password::acceptable(new) || new.len() > 256 {
        return Err(AppError::invalid("password", "invalid"));
    }
    match crate::auth::login(st, ip, &auth.account.username, current).await {
        Ok((token, _)) => {
            st.db.delete_session(&token).await?;
        }
        Err(crate::auth::LoginError::RateLimited) => return Err(AppError::RateLimited),
        Err(crate::auth::LoginError::Internal(e)) => return Err(AppError::Internal(e)),
        Err(e) => return Err(AppError::LoginFailed(e.code(), e.key())),
    }
    st.db.set_password(auth.account.id, new).await?;
    Ok(())
}

/// Candidate duplicates among the people the caller may see.
pub async fn duplicates(
    st: &AppState,
    p: &Principal,
    unit: Option<i64>,
) -> Result<Vec<bdtx_store::merge::DuplicateGroup>, AppError> {
    let within = crate::access::scope(st, p, unit, Action::ViewPerson).await?;
    Ok(st.db.duplicate_candidates(within, 200).await?)
}

/// Whether the caller may merge each group of `groups` (found in `within`): change the identity
/// of every one of its people. Decided once for the whole subtree when that is allowed there,
/// else person by person.
pub async fn may_merge(
    st: &AppState,
    p: &Principal,
    within: Option<i64>,
    groups: &[bdtx_store::merge::DuplicateGroup],
) -> Result<Vec<bool>, AppError> {
    let action = Action::EditPerson(FieldGroup::Identity);
    let everywhere = match within {
        None => p.can(action, &Target::global()),
        Some(u) => p.can(action, &unit_target(st, u).await?.1),
    };
    if everywhere {
        return Ok(vec![true; groups.len()]);
    }
    let mut out = Vec::with_capacity(groups.len());
    for g in groups {
        let mut ok = true;
        for person in &g.people {
            let (_, t) = person_target(st, person.id).await?;
            if !p.can(action, &t) {
                ok = false;
                break;
            }
        }
        out.push(ok);
    }
    Ok(out)
}

/// Merge `others` into `keep`: the caller must be allowed to change the identity of every one;
/// they must be distinct active records, each a candidate duplicate of the kept one (same
/// national ID, e-mail, phone, or name and birth date), else nothing is merged.
pub async fn merge_people(st: &AppState, p: &Principal, keep: i64, others: &[i64]) -> Result<(), AppError> {
    if others.is_empty() {
        return Err(AppError::invalid("others", "required"));
    }
    let mut seen = std::collections::HashSet::from([keep]);
    if !others.iter().all(|o| seen.insert(*o)) {
        return Err(AppError::invalid("others", "duplicate"));
    }
    let mut people = Vec::with_capacity(others.len() + 1);
    for id in std::iter::once(&keep).chain(others) {
        let (person, t) = person_target(st, *id).await?;
        require(p, Action::ViewPerson, &t)?;
        require(p, Action::EditPerson(FieldGroup::Identity), &t)?;
        if person.status != "active" {
            return Err(AppError::invalid(if *id == keep { "keep" } else { "others" }, "not_active"));
        }
        people.push(person.fields());
    }
    if people[1..].iter().any(|o| bdtx_domain::people::duplicate_reason(&people[0], o).is_none()) {
        return Err(AppError::invalid("others", "not_duplicate"));
    }
    st.db.merge_people(Some(p.account_id), keep, others).await?;
    st.auth_cache.invalidate_all();
    Ok(())
}

/// Retirement (nghỉ hưu) or leaving, on a date.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct RetireInput {
    /// First day no longer working (dd/mm/yyyy or yyyy-mm-dd).
    pub date: String,
}

pub async fn retire_person(st: &AppState, p: &Principal, id: i64, input: &RetireInput) -> Result<(), AppError> {
    let (_, t) = person_target(st, id).await?;
    require(p, Action::ViewPerson, &t)?;
    require(p, Action::EditPerson(FieldGroup::Professional), &t)?;
    let date = parse_date(&input.date).ok_or_else(|| AppError::invalid("date", "invalid_date"))?;
    Ok(st.db.retire_person(Some(p.account_id), id, date).await?)
}

/// A request from a school: a correction of someone's record or support they need (Mẫu số 3),
/// or a person to add (Mẫu số 4).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct RequestInput {
    /// correction or addition
    pub kind: String,
    /// For a correction: the person concerned.
    #[serde(default)]
    pub person_id: Option<i64>,
    /// For an addition: the school asking (defaults to the person's unit for a correction).
    #[serde(default)]
    pub unit_id: Option<i64>,
    /// What to correct or the support needed; for an addition, why.
    #[serde(default)]
    pub note: Option<String>,
    /// Answer wanted by (dd/mm/yyyy).
    #[serde(default)]
    pub deadline: Option<String>,
    pub full_name: Option<String>,
    pub birth_date: Option<String>,
    pub gender: Option<String>,
    pub national_id: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub position: Option<String>,
    pub levels: Option<String>,
    pub main_subject: Option<String>,
    pub other_subjects: Option<String>,
}

pub async fn file_request(st: &AppState, p: &Principal, input: &RequestInput) -> Result<i64, AppError> {
    use bdtx_store::requests::RequestKind;
    let kind = RequestKind::parse(input.kind.trim()).ok_or_else(|| AppError::invalid("kind", "invalid"))?;
    let deadline = match input.deadline.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(d) => Some(parse_date(d).ok_or_else(|| AppError::invalid("deadline", "invalid_date"))?),
        None => None,
    };
    let note = input.note.clone().unwrap_or_default();
    match kind {
        RequestKind::Correction => {
            let person = input.person_id.ok_or_else(|| AppError::invalid("person", "required"))?;
            let (_, t) = person_target(st, person).await?;
            require(p, Action::ViewPerson, &t)?;
            let unit = *t.units.first().ok_or(AppError::NotFound)?;
            let (_, ut) = unit_target(st, unit).await?;
            require(p, Action::AddPerson, &ut)?;
            Ok(st.db.file_request(Some(p.account_id), kind, unit, Some(person), None, &note, deadline).await?)
        }
        RequestKind::Addition => {
            let unit = input.unit_id.ok_or_else(|| AppError::invalid("unit", "required"))?;
            let (_, ut) = unit_target(st, unit).await?;
            require(p, Action::AddPerson, &ut)?;
            let fields = validate(&person_draft!(input), None)?;
            if let Some(existing) = st.db.person_on_record(&fields.identity_key()).await? {
                return Err(already_on_record(st, p, &fields, existing).await?);
            }
            Ok(st.db.file_request(Some(p.account_id), kind, unit, None, Some(&fields), &note, deadline).await?)
        }
    }
}

/// An addition of someone already on record: refused, pointing to a correction (Mẫu số 3). Where
/// the record is (name, unit) is said only to a filer who may see that person; anyone else learns
/// only that the national ID (or the person) is already registered.
async fn already_on_record(
    st: &AppState,
    p: &Principal,
    fields: &PersonFields,
    existing: i64,
) -> Result<AppError, AppError> {
    let mut errors = bdtx_store::requests::already_on_record(fields).errors;
    let (person, t) = person_target(st, existing).await?;
    if p.can(Action::ViewPerson, &t) {
        let stays = st.db.stays(existing).await?;
        let d = bdtx_domain::dates::iso(today());
        let mut place: Vec<&str> = stays
            .iter()
            .filter(|s| s.valid_from <= d && s.valid_to.as_deref().is_none_or(|to| to > d.as_str()))
            .map(|s| s.unit_name.as_str())
            .collect();
        if place.is_empty() {
            place.extend(stays.first().map(|s| s.unit_name.as_str()));
        }
        // The record's name and place travel as the "field", as a course package's file does.
        errors.push(bdtx_domain::FieldError {
            field: format!("{} (#{existing}) — {}", person.full_name, place.join(", ")),
            code: "existing_record",
        });
    }
    Ok(AppError::Invalid(errors))
}

pub async fn requests(
    st: &AppState,
    p: &Principal,
    kind: &str,
    unit: Option<i64>,
) -> Result<Vec<bdtx_store::requests::Request>, AppError> {
    let kind = bdtx_store::requests::RequestKind::parse(kind).ok_or_else(|| AppError::invalid("kind", "invalid"))?;
    let within = crate::access::scope(st, p, unit, Action::ViewPerson).await?;
    Ok(st.db.requests(within, kind).await?)
}

/// Whether the caller answers requests addressed to this unit (the level above the school).
pub async fn can_resolve(st: &AppState, p: &Principal, to_unit: i64) -> Result<bool, AppError> {
    let (_, t) = unit_target(st, to_unit).await?;
    Ok(p.can(Action::AddPerson, &t))
}

pub async fn resolve_request(
    st: &AppState,
    p: &Principal,
    id: i64,
    accept: bool,
    resolution: &str,
) -> Result<Option<i64>, AppError> {
    let r = st.db.request(id).await?.ok_or(AppError::NotFound)?;
    let (_, from) = unit_target(st, r.from_unit_id).await?;
    require(p, Action::ViewPerson, &from).map_err(|_| AppError::NotFound)?;
    if !can_resolve(st, p, r.to_unit_id).await? {
        return Err(AppError::Forbidden);
    }
    Ok(st.db.resolve_request(Some(p.account_id), id, accept, resolution).await?)
}
