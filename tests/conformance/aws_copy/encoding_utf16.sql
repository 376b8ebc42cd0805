-- source: AWS, Amazon Redshift Database Developer Guide, "Data conversion parameters" (ENCODING)
--   (https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-conversion.html):
--   "The COPY command converts the data from the specified encoding into UTF-8"; UTF16 "must
--   have a byte order mark (BOM)"; UTF16LE / UTF16BE are read "regardless of the presence of
--   a BOM"; ISO88591. The same rows in each encoding (non-ASCII and a character outside the BMP).
-- data: gen.py copy/category_utf16*.txt, copy/category_latin1.txt
create table category (catid smallint, catgroup varchar(10), catname varchar(20), catdesc varchar(50));
insert into category values (1, 'Sports', 'MLB', 'Major League Baseball');

copy category from 's3://lode-conformance/copy/category_utf16le_bom.txt'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
delimiter '|' encoding utf16le;

copy category from 's3://lode-conformance/copy/category_utf16_be_bom.txt'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
delimiter '|' encoding as utf16;

copy category from 's3://lode-conformance/copy/category_utf16be.txt'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
encoding utf16be delimiter '|';

copy category from 's3://lode-conformance/copy/category_latin1.txt'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
delimiter '|' encoding iso88591;
