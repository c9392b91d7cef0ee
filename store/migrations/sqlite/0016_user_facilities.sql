-- The facilities whose charts a user may see: '*' for all (every user before this
-- migration), otherwise codes between commas (',PP01,SR01,').
ALTER TABLE users ADD COLUMN facilities TEXT NOT NULL DEFAULT '*';
