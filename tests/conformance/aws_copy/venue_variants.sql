-- source: AWS, Amazon Redshift Database Developer Guide, "COPY examples"
--   (https://docs.aws.amazon.com/redshift/latest/dg/r_COPY_command_examples.html): GZIP,
--   "Using a manifest to specify data files" (an optional missing entry), NULL AS, and
--   TIMEFORMAT 'epochsecs' from "COPY data conversion parameters".
-- data: gen.py copy/venue_pipe.txt.gz, copy/venue.manifest, copy/venue_nulls.txt, copy/times_epoch.txt
create table venue(
	venueid smallint not null distkey sortkey,
	venuename varchar(100),
	venuecity varchar(30),
	venuestate char(2),
	venueseats integer);

copy venue from 's3://lode-conformance/copy/venue_pipe.txt.gz'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
delimiter '|' gzip;

copy venue from 's3://lode-conformance/copy/venue.manifest'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
delimiter '|' manifest;

copy venue from 's3://lode-conformance/copy/venue_nulls.txt'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
delimiter '|' null as 'nil';

create table epoch_times (id int, at timestamp);

copy epoch_times from 's3://lode-conformance/copy/times_epoch.txt'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
delimiter '|' timeformat 'epochsecs';
