-- source: AWS, Amazon Redshift Database Developer Guide, "Unloading data in delimited or
--   fixed-width format" (https://docs.aws.amazon.com/redshift/latest/dg/t_unloading_fixed_width_data.html):
--   unload ('select * from venue') … fixedwidth '0:3,1:100,2:30,3:2,4:6', and "Loading fixed-width
--   data from Amazon S3" (COPY … FIXEDWIDTH, TRIMBLANKS from "Data conversion parameters") to
--   load it back. The UNLOAD reference (NULL AS): without NULL AS, NULL is "whitespace strings
--   for fixed-width output"; a blank non-character field loads NULL. The lines themselves are
--   read back whole into venue_lines (a delimiter absent from the data) and compared with the
--   lines gen.py pads by the reference's rules.
-- data: gen.py (the expected lines)
create table venue(
	venueid smallint not null distkey sortkey,
	venuename varchar(100),
	venuecity varchar(30),
	venuestate char(2),
	venueseats integer);
insert into venue values (20, 'Air Canada Centre', 'Toronto', 'ON', 0), (60, 'Rexall Place', 'Edmonton', 'AB', 0),
  (100, 'U.S. Cellular Field', 'Chicago', 'IL', 40615), (200, 'Al Hirschfeld Theatre', 'New York City', 'NY', 0),
  (240, 'San Jose Repertory Theatre', 'San Jose', 'CA', null), (300, 'Kennedy Center Opera House', 'Washington', 'DC', 0);

unload ('select * from venue order by venueid')
to 's3://lode-conformance/unload/venue_fw_'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
fixedwidth '0:3,1:100,2:30,3:2,4:6'
parallel off;

create table venue_back (like venue);
copy venue_back
from 's3://lode-conformance/unload/venue_fw_000'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
fixedwidth '0:3,1:100,2:30,3:2,4:6'
trimblanks;

create table venue_lines (line varchar(200));
copy venue_lines
from 's3://lode-conformance/unload/venue_fw_000'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
delimiter '~';
