-- What the "forms carry more" fields add to a committed record: the date of a fact read
-- from a table row (an earlier antenatal visit), an inpatient stay's length and referral,
-- and the facility's name as its cards print it.
ALTER TABLE facts ADD COLUMN effective TEXT;
ALTER TABLE encounters ADD COLUMN length_days TEXT;
ALTER TABLE encounters ADD COLUMN referred_to TEXT;
ALTER TABLE encounters ADD COLUMN facility_name TEXT;
