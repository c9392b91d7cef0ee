-- Each user's interface language (en or km).
ALTER TABLE users ADD COLUMN lang TEXT NOT NULL DEFAULT 'en';
