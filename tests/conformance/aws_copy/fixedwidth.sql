-- source: AWS, Amazon Redshift Database Developer Guide, "COPY examples"
--   (https://docs.aws.amazon.com/redshift/latest/dg/r_COPY_command_examples.html):
--   "Load VENUE from a fixed-width data file", with both spec forms from "Loading fixed-width
--   data from Amazon S3" (t_loading_fixed_width_data.html: '0:3,1:25,…' and
--   'venueid:3,venuename:25,…'), and TRIMBLANKS from "Data conversion parameters".
--   ENCODING (copy-parameters-data-conversion.html): "The field widths are based on the
--   number of characters, not the number of bytes" (the data has multibyte names);
--   BLANKSASNULL: without it blanks load "as is" (padding stays in VARCHAR).
-- data: gen.py copy/venue_fw.txt
create table venue(
	venueid smallint not null distkey sortkey,
	venuename varchar(100),
	venuecity varchar(30),
	venuestate char(2),
	venueseats integer);

copy venue
from 's3://lode-conformance/copy/venue_fw.txt'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
fixedwidth 'venueid:3,venuename:25,venuecity:12,venuestate:2,venueseats:6';

create table venue_trimmed (like venue);

copy venue_trimmed
from 's3://lode-conformance/copy/venue_fw.txt'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
fixedwidth '0:3,1:25,2:12,3:2,4:6'
trimblanks;
