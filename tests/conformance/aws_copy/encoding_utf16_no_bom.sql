-- source: AWS, Amazon Redshift Database Developer Guide, "Data conversion parameters" (ENCODING)
--   (https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-conversion.html):
--   "If you specify UTF16, then your data must have a byte order mark (BOM)"; "If COPY
--   encounters a different encoding, it skips the file and returns an error". The COPY fails;
--   what ran before it stays.
-- fails: 11 byte order mark
-- data: gen.py copy/category_utf16be.txt (no BOM)
create table category (catid smallint, catgroup varchar(10), catname varchar(20), catdesc varchar(50));
insert into category values (1, 'Sports', 'MLB', 'Major League Baseball');

copy category from 's3://lode-conformance/copy/category_utf16be.txt'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
delimiter '|' encoding utf16;
