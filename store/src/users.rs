//! Users (argon2id password hashes) and login sessions (random tokens, stored hashed).

use crate::blobs::sha256_hex;
use crate::{now_ms, Result, Store, StoreError};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chart::Role;
use rand::RngCore;
use sqlx::Row;

/// A user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// Login name.
    pub name: String,
    /// What they may do.
    pub role: Role,
    /// Whose charts they may see.
    pub facilities: Facilities,
}

/// The facilities whose charts a user may see, open, change and export.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Facilities {
    /// Every facility (the programme's managers, admins).
    #[default]
    All,
    /// These facility codes only.
    Only(Vec<String>),
}

impl Facilities {
    /// From its stored form: `*`, or codes between commas.
    pub fn parse(stored: &str) -> Facilities {
        if stored.trim() == "*" {
            return Facilities::All;
        }
        Facilities::Only(stored.split(',').map(str::trim).filter(|c| !c.is_empty()).map(str::to_string).collect())
    }

    /// Its stored form, which `facility_clause` matches in SQL.
    pub fn stored(&self) -> String {
        match self {
            Facilities::All => "*".into(),
            Facilities::Only(codes) => format!(",{},", codes.join(",")),
        }
    }

    /// Whether a chart of `facility` is among them.
    pub fn includes(&self, facility: &str) -> bool {
        match self {
            Facilities::All => true,
            Facilities::Only(codes) => codes.iter().any(|c| c == facility),
        }
    }

    /// Checks the codes: letters, digits and `-` (they are matched inside SQL patterns).
    pub fn checked(self) -> Result<Facilities> {
        if let Facilities::Only(codes) = &self {
            if codes.is_empty() {
                return Err(StoreError::Invalid("name at least one facility (or all)".into()));
            }
            if let Some(bad) = codes.iter().find(|c| c.is_empty() || c.len() > 32 || !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-')) {
                return Err(StoreError::Invalid(format!("facility code {bad:?}: use letters, digits and -")));
            }
        }
        Ok(self)
    }
}

impl std::fmt::Display for Facilities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Facilities::All => f.write_str("all facilities"),
            Facilities::Only(codes) => f.write_str(&codes.join(", ")),
        }
    }
}

/// A logged-in session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Who.
    pub user: User,
    /// The token state-changing requests must echo.
    pub csrf: String,
}

/// How long a session lasts at most.
pub const SESSION_MS: i64 = 12 * 3600 * 1000;
/// How long a session lasts without use, unless the store is told otherwise
/// ([`Store::with_session_idle`]): clinic computers are shared.
pub const SESSION_IDLE_MS: i64 = 30 * 60 * 1000;

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| StoreError::Invalid(e.to_string()))?;
    Ok(Argon2::default().hash_password(password.as_bytes(), &salt).map_err(|e| StoreError::Invalid(e.to_string()))?.to_string())
}

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Refuses a password that is short, or common or easy to guess (zxcvbn's estimate below
/// 10^8 guesses, with the user's name and the product's as known words), saying why.
pub fn check_password(name: &str, password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(StoreError::Invalid(format!("a password has at least {MIN_PASSWORD_CHARS} characters")));
    }
    let estimate = zxcvbn::zxcvbn(password, &[name, "chartscan"]);
    if u8::from(estimate.score()) < 3 {
        let why = estimate.feedback().and_then(|f| f.warning()).map(|w| format!(" ({w})")).unwrap_or_default();
        return Err(StoreError::Invalid(format!("this password is too easy to guess{why}: use a longer phrase of unrelated words")));
    }
    Ok(())
}

fn parse_role(s: &str) -> Result<Role> {
    s.parse().map_err(StoreError::Invalid)
}

/// The columns [`user_of`] reads, first in every query that loads a user.
const USER_COLUMNS: &str = "u.id, u.name, u.role, u.facilities";

/// A user from a row whose first columns are [`USER_COLUMNS`].
fn user_of(r: &sqlx::any::AnyRow) -> Result<User> {
    Ok(User {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        role: parse_role(&r.try_get::<String, _>(2)?)?,
        facilities: Facilities::parse(&r.try_get::<String, _>(3)?),
    })
}

impl Store {
    /// Adds a user; a name already taken is refused (change a user with
    /// [`Store::set_password`] and [`Store::set_role`]). `by` is who adds them, for the audit.
    pub async fn add_user(&self, name: &str, role: Role, password: &str, by: &str) -> Result<User> {
        self.add_user_for(name, role, Facilities::All, password, by).await
    }

    /// Adds a user who sees the charts of `facilities` only ([`Store::add_user`]).
    pub async fn add_user_for(&self, name: &str, role: Role, facilities: Facilities, password: &str, by: &str) -> Result<User> {
        let facilities = facilities.checked()?;
        if name.trim().is_empty() || name.len() > 64 {
            return Err(StoreError::Invalid("a user name has 1 to 64 characters".into()));
        }
        check_password(name, password)?;
        let hash = hash_password(password)?;
        let mut tx = self.begin_write().await?;
        if sqlx::query("SELECT id FROM users WHERE name = $1").bind(name).fetch_optional(&mut *tx).await?.is_some() {
            return Err(StoreError::InvalidState(format!(
                "user {name} exists already: `chartscan user passwd {name}` sets a new password, `chartscan user role {name} ROLE` another role"
            )));
        }
        let id: i64 = sqlx::query("INSERT INTO users (name, role, password_hash, created_at, facilities) VALUES ($1, $2, $3, $4, $5) RETURNING id")
            .bind(name)
            .bind(role.as_str())
            .bind(&hash)
            .bind(now_ms())
            .bind(facilities.stored())
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        let scope = if facilities == Facilities::All { String::new() } else { format!(" for {facilities}") };
        crate::audit(&mut tx, by, "user_add", None, &format!("{name} as {role}{scope}")).await?;
        tx.commit().await?;
        Ok(User { id, name: name.to_string(), role, facilities })
    }

    /// The id of user `name` in a transaction.
    async fn user_id(tx: &mut sqlx::Transaction<'static, sqlx::Any>, name: &str) -> Result<i64> {
        Ok(sqlx::query("SELECT id FROM users WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("user {name}")))?
            .try_get(0)?)
    }

    /// Sets a user's password; their sessions end. Audited with `by`.
    pub async fn set_password(&self, name: &str, password: &str, by: &str) -> Result<()> {
        check_password(name, password)?;
        let hash = hash_password(password)?;
        let mut tx = self.begin_write().await?;
        let id = Self::user_id(&mut tx, name).await?;
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2").bind(&hash).bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
        crate::audit(&mut tx, by, "user_password", None, name).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets whose charts a user may see; their sessions end. Audited with `by`.
    pub async fn set_facilities(&self, name: &str, facilities: Facilities, by: &str) -> Result<()> {
        let facilities = facilities.checked()?;
        let mut tx = self.begin_write().await?;
        let id = Self::user_id(&mut tx, name).await?;
        sqlx::query("UPDATE users SET facilities = $1 WHERE id = $2").bind(facilities.stored()).bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
        crate::audit(&mut tx, by, "user_facilities", None, &format!("{name}: {facilities}")).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Gives a user another role; their sessions end (a session never outlives the role it
    /// was opened with). Audited with `by`.
    pub async fn set_role(&self, name: &str, role: Role, by: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let id = Self::user_id(&mut tx, name).await?;
        sqlx::query("UPDATE users SET role = $1 WHERE id = $2").bind(role.as_str()).bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
        crate::audit(&mut tx, by, "user_role", None, &format!("{name} as {role}")).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Checks a login; `None` when the name or password is wrong (the same answer for both).
    pub async fn verify_login(&self, name: &str, password: &str) -> Result<Option<User>> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.name = $1 AND u.disabled = 0"))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            // Spend the same time as a real check so names cannot be probed by timing.
            let _ = hash_password(password);
            return Ok(None);
        };
        let hash: String = row.try_get(4)?;
        let parsed = PasswordHash::new(&hash).map_err(|e| StoreError::Invalid(e.to_string()))?;
        if Argon2::default().verify_password(password.as_bytes(), &parsed).is_err() {
            return Ok(None);
        }
        Ok(Some(user_of(&row)?))
    }

    /// Starts a session; returns the token for the cookie and the session. Sessions that
    /// have ended (expired, or idle too long) are deleted on the way.
    pub async fn create_session(&self, user: &User) -> Result<(String, Session)> {
        let token = random_hex(32);
        let csrf = random_hex(16);
        let now = now_ms();
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR idle_until <= $1").bind(now).execute(&self.writer).await?;
        sqlx::query("INSERT INTO sessions (token_hash, user_id, csrf, expires_at, idle_until) VALUES ($1, $2, $3, $4, $5)")
            .bind(sha256_hex(token.as_bytes()))
            .bind(user.id)
            .bind(&csrf)
            .bind(now + SESSION_MS)
            .bind(now + self.session_idle_ms)
            .execute(&self.writer)
            .await?;
        Ok((token, Session { user: user.clone(), csrf }))
    }

    /// The live session of a token; using it keeps it from ending idle (the time is moved on
    /// at most once a minute, not written at every request).
    pub async fn session(&self, token: &str) -> Result<Option<Session>> {
        let hash = sha256_hex(token.as_bytes());
        let now = now_ms();
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, s.csrf, s.idle_until FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.idle_until > $2 AND u.disabled = 0"
        ))
        .bind(&hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let idle_until: i64 = r.try_get(5)?;
        if idle_until - now < self.session_idle_ms - (self.session_idle_ms / 30).min(60_000) {
            sqlx::query("UPDATE sessions SET idle_until = $1 WHERE token_hash = $2").bind(now + self.session_idle_ms).bind(&hash).execute(&self.writer).await?;
        }
        Ok(Some(Session { user: user_of(&r)?, csrf: r.try_get(4)? }))
    }

    /// Every user, by name, with role and whether they are disabled.
    pub async fn users(&self) -> Result<Vec<(User, bool)>> {
        let rows = sqlx::query(&format!("SELECT {USER_COLUMNS}, u.disabled FROM users u ORDER BY u.name")).fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok((user_of(r)?, r.try_get::<i64, _>(4)? != 0))).collect()
    }

    /// Disables a user (they cannot sign in, and their sessions end) or enables them again.
    pub async fn set_user_disabled(&self, name: &str, disabled: bool, by: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let id = Self::user_id(&mut tx, name).await?;
        sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2").bind(i64::from(disabled)).bind(id).execute(&mut *tx).await?;
        if disabled {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
        }
        crate::audit(&mut tx, by, if disabled { "user_disable" } else { "user_enable" }, None, name).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A user's interface language (`en` or `km`).
    pub async fn user_lang(&self, name: &str) -> Result<String> {
        let row = sqlx::query("SELECT lang FROM users WHERE name = $1").bind(name).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| r.try_get::<String, _>(0)).transpose()?.unwrap_or_else(|| "en".into()))
    }

    /// Sets a user's interface language: `en` (English) or `km` (Khmer).
    pub async fn set_user_lang(&self, name: &str, lang: &str) -> Result<()> {
        if !matches!(lang, "en" | "km") {
            return Err(StoreError::Invalid(format!("language {lang:?}: use en or km")));
        }
        sqlx::query("UPDATE users SET lang = $1 WHERE name = $2").bind(lang).bind(name).execute(&self.writer).await?;
        Ok(())
    }

    /// Ends a session.
    pub async fn end_session(&self, token: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(sha256_hex(token.as_bytes())).execute(&self.writer).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::check_password;

    #[test]
    fn short_common_and_guessable_passwords_are_refused() {
        for bad in ["short", "password1234", "qwertyuiop123", "dara-dara-dara", "chartscan2024", "123456789012"] {
            let err = check_password("dara", bad).unwrap_err().to_string();
            assert!(err.contains("12 characters") || err.contains("too easy to guess"), "{bad}: {err}");
        }
        for good in ["lantern mango river tuesday", "Kampot-pepper-47-harbour", "u8wq3mzpt7xkfa"] {
            assert!(check_password("dara", good).is_ok(), "{good}");
        }
    }
}
