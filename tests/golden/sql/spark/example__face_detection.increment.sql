SELECT
  COALESCE(`e`.`sample_uid`, `s`.`sample_uid`) AS `sample_uid`,
  CASE
    WHEN `s`.`sample_uid` IS NULL
    THEN 'new'
    WHEN `e`.`sample_uid` IS NULL
    THEN 'orphaned'
    ELSE 'stale'
  END AS `metaxy_status`,
  `e`.`metaxy_provenance__detections` AS `metaxy_provenance__detections`,
  MD5(`e`.`metaxy_provenance__detections`) AS `metaxy_provenance`,
  CASE
    WHEN `e`.`sample_uid` IS NULL
    THEN NULL
    WHEN `s`.`sample_uid` IS NULL
    THEN TRUE
    ELSE `s`.`metaxy_provenance__detections` IS NULL
    OR `e`.`metaxy_provenance__detections` <> `s`.`metaxy_provenance__detections`
  END AS `metaxy_stale__detections`
FROM (
  SELECT
    `u0`.`sample_uid` AS `sample_uid`,
    MD5(
      '["example/face_detection.detections","1"]|example/crop.frames=' || `u0`.`metaxy_data_version__frames`
    ) AS `metaxy_provenance__detections`
  FROM `example__crop` AS `u0`
) AS `e`
FULL JOIN `example__face_detection` AS `s`
  ON `e`.`sample_uid` = `s`.`sample_uid`
WHERE
  `s`.`sample_uid` IS NULL
  OR `e`.`sample_uid` IS NULL
  OR (
    `s`.`metaxy_provenance__detections` IS NULL
    OR `e`.`metaxy_provenance__detections` <> `s`.`metaxy_provenance__detections`
  )
