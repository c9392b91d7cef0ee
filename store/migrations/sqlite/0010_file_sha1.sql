-- FHIR's Attachment.hash is the SHA-1 of the file: computed from the stored original the
-- first time a chart is exported or pushed, then kept here.
ALTER TABLE files ADD COLUMN sha1_base64 TEXT;
