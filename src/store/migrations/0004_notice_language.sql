-- Version 4: the second language printed on an org's payment notices (avviso pagoPA v3.5
-- bilingual variant): 'de' or 'en'; NULL prints Italian only.

ALTER TABLE org ADD COLUMN notice_language TEXT CHECK (notice_language IS NULL OR notice_language IN ('de', 'en'));
