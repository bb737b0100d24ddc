SELECT
  COALESCE(`e`.`sample_uid`, `s`.`sample_uid`) AS `sample_uid`,
  CASE
    WHEN `s`.`sample_uid` IS NULL
    THEN 'new'
    WHEN `e`.`sample_uid` IS NULL
    THEN 'orphaned'
    ELSE 'stale'
  END AS `metaxy_status`,
  `e`.`metaxy_provenance__audio` AS `metaxy_provenance__audio`,
  `e`.`metaxy_provenance__frames` AS `metaxy_provenance__frames`,
  MD5(`e`.`metaxy_provenance__audio` || '|' || `e`.`metaxy_provenance__frames`) AS `metaxy_provenance`,
  CASE
    WHEN `e`.`sample_uid` IS NULL
    THEN NULL
    WHEN `s`.`sample_uid` IS NULL
    THEN TRUE
    ELSE `s`.`metaxy_provenance__audio` IS NULL
    OR `e`.`metaxy_provenance__audio` <> `s`.`metaxy_provenance__audio`
  END AS `metaxy_stale__audio`,
  CASE
    WHEN `e`.`sample_uid` IS NULL
    THEN NULL
    WHEN `s`.`sample_uid` IS NULL
    THEN TRUE
    ELSE `s`.`metaxy_provenance__frames` IS NULL
    OR `e`.`metaxy_provenance__frames` <> `s`.`metaxy_provenance__frames`
  END AS `metaxy_stale__frames`
FROM (
  SELECT
    `u0`.`sample_uid` AS `sample_uid`,
    MD5(
      '["example/crop.audio","1"]|example/video.audio=' || `u0`.`metaxy_data_version__audio`
    ) AS `metaxy_provenance__audio`,
    MD5(
      '["example/crop.frames","1"]|example/video.frames=' || `u0`.`metaxy_data_version__frames`
    ) AS `metaxy_provenance__frames`
  FROM `example__video` AS `u0`
) AS `e`
FULL JOIN `example__crop` AS `s`
  ON `e`.`sample_uid` = `s`.`sample_uid`
WHERE
  `s`.`sample_uid` IS NULL
  OR `e`.`sample_uid` IS NULL
  OR (
    (
      `s`.`metaxy_provenance__audio` IS NULL
      OR `e`.`metaxy_provenance__audio` <> `s`.`metaxy_provenance__audio`
    )
    OR (
      `s`.`metaxy_provenance__frames` IS NULL
      OR `e`.`metaxy_provenance__frames` <> `s`.`metaxy_provenance__frames`
    )
  )
