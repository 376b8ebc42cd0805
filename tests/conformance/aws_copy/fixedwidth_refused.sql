-- source: AWS, Amazon Redshift Database Developer Guide, "COPY examples"
--   (https://docs.aws.amazon.com/redshift/latest/dg/r_COPY_command_examples.html):
--   "Load VENUE from a fixed-width data file". Not emulated: fails at the COPY.
-- refuse: 13 FIXEDWIDTH
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

insert into venue values (99, 'never', 'reached', 'XX', 0);
