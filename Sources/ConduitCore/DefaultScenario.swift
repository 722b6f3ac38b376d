/// The source document's scenario as an embedded JSON literal: the module reads no files.
extension Scenario {
    /// The JSON of ``Scenario/default``: Jiangkou County's 2023 plan (江府办发〔2023〕8号) for 甘家坝,
    /// 瑞景碧苑 and 锦绣新城, 972 households, due 2023-12-31, with every organisation the plan names and its
    /// duty. The split of households over communities and buildings, and the work items' planned dates,
    /// are illustrative (the plan gives only the total); the document's `note` says so.
    public static let defaultJSON: [UInt8] = Array(defaultJSONText.utf8)

    static let defaultJSONText = #"""
{
  "format": "conduit-plan/1",
  "id": "jiangkou-2023-old-communities",
  "name": {
    "zh": "江口县2023年老旧小区改造项目",
    "en": "Jiangkou County 2023 old residential community renovation"
  },
  "reference": "江府办发〔2023〕8号《江口县2023年老旧小区改造项目工作实施方案》(2023-03-02)",
  "note": "From the document: the three communities (甘家坝, 瑞景碧苑, 锦绣新城), 972 households in all, the deadline (basically complete by the end of December 2023), the members of the leading group and each organisation's duty under 四、工作职责 (each duty below cites its item, \"§4(n)\"), the added elevators and the supply of power, water and communications in the scope of the works (二（二）), and the supervision ledger with deadlines for rectification (五（四）). Assumed by this plan, not in the document: the split of households over communities and buildings and the building ids; every work item and its planned dates; the power supply bureau's relocation work (the document lists it in the leading group and power supply in the scope, but gives it no duty under 四); that the telecom carriers and the broadcast company relocate their own lines (the document's duty §4(13) says so for communication lines, the split into items is assumed); that the water investment company relocates the water lines as well as accepting them (§4(9) gives it technical guidance and acceptance); that the housing bureau leads a joint completion acceptance of line work (§4(3) gives it technical guidance and construction supervision); that the fire brigade inspects (§4(11) gives it technical guidance); which buildings get an added elevator; the household survey as work items of the sub-district office with planned dates (§4(12) gives the duty, not a schedule); the notice rules for telecom and broadcast; and every period of the ledger rules (the document sets deadlines for rectification without a length). Not modelled: roads, greening, lighting, walls, parking and waste works of the scope, and the duties that produce no field events (approvals, funds, publicity, petitions, enforcement).",
  "deadline": "2023-12-31",
  "timeZone": "Asia/Shanghai",
  "utcOffset": "+08:00",
  "noticeRules": [
    {
      "service": "power",
      "leadHours": 168,
      "source": {
        "zh": "《供电营业规则》（电力工业部，1996年）第六十八条：因故需要中止供电时，供电企业应事先通知用户或进行公告；因供电设施计划检修需要停电时，应提前七天通知用户或进行公告。（第六十七条是对用户停止供电的办理程序：停电前三至七天送达停电通知书、停电前30分钟再通知，不是计划检修的规定。）核对：依公开转载的规则文本核对了第六十七、六十八条；2024年修订本仍规定计划检修停电提前7日公告，但其条号、令号和施行日期未能核实，2023年的计划按1996年文本执行。",
        "en": "Electricity Supply Business Rules (供电营业规则, Ministry of Electric Power, 1996), article 68: when supply is to be interrupted, the supplier notifies users or announces it beforehand; for planned maintenance of supply facilities, seven days ahead. (Article 67 is the procedure for cutting off one customer: a notice served three to seven days before, and again 30 minutes before; it is not the planned-maintenance rule.) Checked: articles 67 and 68 against a published copy of the 1996 text. A 2024 revision still requires seven days' public notice of a planned-maintenance outage, but its article number, order number and date of force could not be verified here; the 2023 programme is judged by the 1996 text."
      }
    },
    {
      "service": "water",
      "leadHours": 24,
      "source": {
        "zh": "《城市供水条例》（国务院令第158号，1994年）第二十二条：城市自来水供水企业和自建设施对外供水的企业应当保持不间断供水；由于工程施工、设备维修等原因确需停止供水的，应当经城市供水行政主管部门批准并提前24小时通知用水单位和个人。核对：依政府政务服务页面引用的条文核对（第二十二条，24小时）。另见一份较新的供水条例文本将类似的24小时规定列为第二十三条，其名称和日期未能核实，未采用。",
        "en": "Regulations on Urban Water Supply (城市供水条例, State Council order no. 158, 1994), article 22: a supplier keeps supply uninterrupted; a stop needed for construction or maintenance needs the water authority's approval and 24 hours' notice to the users. Checked: the article's text as a county government's service page quotes it (article 22, 24 hours). A later text of a water supply regulation puts a similar 24-hour rule in article 23; its title and date could not be verified, and it is not used."
      }
    },
    {
      "service": "telecom",
      "leadHours": 24,
      "source": {
        "zh": "无全国性规定规定通信、广电线路割接的提前通知时间；本计划按24小时执行（假定）",
        "en": "No national rule found fixes the notice for a telecom or broadcast cut-over; this plan requires 24 hours (assumed)"
      },
      "assumed": true
    },
    {
      "service": "broadcast",
      "leadHours": 24,
      "source": {
        "zh": "无全国性规定规定通信、广电线路割接的提前通知时间；本计划按24小时执行（假定）",
        "en": "No national rule found fixes the notice for a telecom or broadcast cut-over; this plan requires 24 hours (assumed)"
      },
      "assumed": true
    }
  ],
  "ledger": {
    "rectification": [
      {
        "kinds": [
          "behind_schedule",
          "reinspection_overdue",
          "lifecycle_anomaly"
        ],
        "days": 14,
        "source": {
          "zh": "文件五（四）：对推进不力、进度缓慢的通报批评，限期整改；期限未定，本计划定为14天（假定）",
          "en": "Document 五（四）: units that lag are criticised and given a deadline to rectify; the document sets no period, this plan gives 14 days (assumed)"
        },
        "assumed": true
      },
      {
        "kinds": [
          "deadline_at_risk",
          "escalation",
          "outage_overlap"
        ],
        "days": 7,
        "source": {
          "zh": "同上；危及年底完工、居民阻工和停电冲突的，定为7天（假定）",
          "en": "As above; what endangers the year-end deadline, residents blocking work and clashing outages get 7 days (assumed)"
        },
        "assumed": true
      },
      {
        "kinds": [
          "no_notice",
          "short_notice",
          "outage_overrun",
          "acceptance_missing",
          "progress_regression"
        ],
        "days": 7,
        "source": {
          "zh": "同上；已发生的违规，7天内书面说明并整改（假定）",
          "en": "As above; a violation that happened is explained in writing and rectified within 7 days (assumed)"
        },
        "assumed": true
      },
      {
        "kinds": [
          "outage_unrestored",
          "outage_lapsed",
          "agent_silent"
        ],
        "days": 1,
        "source": {
          "zh": "停电、数据中断当日处理（假定）",
          "en": "An outage or a silent reporter is dealt with the next day (assumed)"
        },
        "assumed": true
      }
    ],
    "escalations": [
      {
        "id": "access-refused",
        "reason": {
          "zh": "住户不同意入户施工",
          "en": "households refuse access for the works"
        },
        "reasonContains": [
          "不同意入户",
          "refuse access"
        ],
        "afterDays": 7,
        "organisation": "shuangjiang-subdistrict",
        "source": {
          "zh": "文件四（十二）：双江街道负责入户摸底调查、矛盾纠纷协调；停工7天后转街道（天数为假定）",
          "en": "Document §4(12): the Shuangjiang sub-district office is responsible for the household survey and the mediation of disputes; a stop of 7 days goes to it (the days are assumed)"
        },
        "assumed": true
      },
      {
        "id": "residents-dispute",
        "reason": {
          "zh": "居民对施工有异议",
          "en": "residents dispute the works"
        },
        "reasonContains": [
          "有异议",
          "residents object"
        ],
        "afterDays": 7,
        "organisation": "shuangjiang-subdistrict",
        "source": {
          "zh": "文件四（十二）：矛盾纠纷协调由双江街道负责（天数为假定）",
          "en": "Document §4(12): the sub-district office mediates disputes (the days are assumed)"
        },
        "assumed": true
      }
    ]
  },
  "communities": [
    {
      "id": "ganjiaba",
      "name": {
        "zh": "甘家坝",
        "en": "Ganjiaba"
      },
      "households": 436,
      "buildings": [
        {
          "id": "b01",
          "households": 54
        },
        {
          "id": "b02",
          "households": 54
        },
        {
          "id": "b03",
          "households": 54
        },
        {
          "id": "b04",
          "households": 54
        },
        {
          "id": "b05",
          "households": 54
        },
        {
          "id": "b06",
          "households": 54
        },
        {
          "id": "b07",
          "households": 56
        },
        {
          "id": "b08",
          "households": 56
        }
      ]
    },
    {
      "id": "ruijing-biyuan",
      "name": {
        "zh": "瑞景碧苑",
        "en": "Ruijing Biyuan"
      },
      "households": 298,
      "buildings": [
        {
          "id": "b01",
          "households": 50
        },
        {
          "id": "b02",
          "households": 50
        },
        {
          "id": "b03",
          "households": 50
        },
        {
          "id": "b04",
          "households": 50
        },
        {
          "id": "b05",
          "households": 49
        },
        {
          "id": "b06",
          "households": 49
        }
      ]
    },
    {
      "id": "jinxiu-xincheng",
      "name": {
        "zh": "锦绣新城",
        "en": "Jinxiu Xincheng"
      },
      "households": 238,
      "buildings": [
        {
          "id": "b01",
          "households": 48
        },
        {
          "id": "b02",
          "households": 48
        },
        {
          "id": "b03",
          "households": 48
        },
        {
          "id": "b04",
          "households": 47
        },
        {
          "id": "b05",
          "households": 47
        }
      ]
    }
  ],
  "organisations": [
    {
      "id": "county-government-office",
      "name": {
        "zh": "江口县人民政府办公室督查室",
        "en": "Supervision Office of the County Government Office"
      },
      "roles": [
        "coordinator"
      ],
      "duty": {
        "zh": "【文件五（四）】县政府办督查室会同县住房城乡建设局建立专项督查台账，实时掌握、督查推进各有关部门、乡镇（街道）项目建设工作进度，对推进不力、进度缓慢的通报批评，限期整改",
        "en": "[document §5(4)] With the housing bureau, keeps the special supervision ledger, follows the progress of every department and sub-district in real time, and criticises publicly and sets deadlines for those that lag"
      }
    },
    {
      "id": "housing-bureau",
      "name": {
        "zh": "县住房城乡建设局",
        "en": "County Housing and Urban-Rural Development Bureau"
      },
      "roles": [
        "coordinator",
        "inspector"
      ],
      "inspects": [
        "joint_acceptance"
      ],
      "duty": {
        "zh": "【文件四（三）、五（一）】负责该项目建设的技术指导和施工监管、建设等相关工作；是改造工作的责任主体、实施主体；领导小组办公室设在该局。加装电梯由其施工单位实施（假定）；牵头联合验收（假定）",
        "en": "[document §4(3), §5(1)] Technical guidance, construction supervision and delivery of the project; the responsible and implementing body; hosts the leading group's office. Its contractors install the added elevators (assumed); leads the joint acceptance (assumed)"
      }
    },
    {
      "id": "publicity-department",
      "name": {
        "zh": "县委宣传部",
        "en": "Publicity Department of the County Party Committee"
      },
      "roles": [
        "support"
      ],
      "duty": {
        "zh": "【文件四（十）】负责该项目宣传相关工作",
        "en": "[document §4(10)] Publicity for the project"
      }
    },
    {
      "id": "development-reform-bureau",
      "name": {
        "zh": "县发改局",
        "en": "County Development and Reform Bureau"
      },
      "roles": [
        "support"
      ],
      "duty": {
        "zh": "【文件四（一）】负责该项目批复立项和建设资金申报等相关工作",
        "en": "[document §4(1)] Project approval and applications for construction funds"
      }
    },
    {
      "id": "finance-bureau",
      "name": {
        "zh": "县财政局",
        "en": "County Finance Bureau"
      },
      "roles": [
        "support"
      ],
      "duty": {
        "zh": "【文件四（二）】负责项目建设资金的筹措、调度使用和资金使用监管等相关工作",
        "en": "[document §4(2)] Raising, allocating and overseeing construction funds"
      }
    },
    {
      "id": "natural-resources-bureau",
      "name": {
        "zh": "县自然资源局",
        "en": "County Natural Resources Bureau"
      },
      "roles": [
        "support"
      ],
      "duty": {
        "zh": "【文件四（四）】负责该项目规划、用地手续审批及违规建设的认定相关工作",
        "en": "[document §4(4)] Planning and land-use approvals; determining illegal construction"
      }
    },
    {
      "id": "public-security-bureau",
      "name": {
        "zh": "县公安局",
        "en": "County Public Security Bureau"
      },
      "roles": [
        "support"
      ],
      "duty": {
        "zh": "【文件四（七）】负责打击强行阻工堵路、强拉强运、强揽工程等恶劣行为",
        "en": "[document §4(7)] Acts against forcible obstruction of works and roads, forced haulage and forced contracting"
      }
    },
    {
      "id": "petitions-bureau",
      "name": {
        "zh": "县信访局",
        "en": "County Letters and Visits Bureau"
      },
      "roles": [
        "support"
      ],
      "duty": {
        "zh": "【文件四（八）】负责该项目信访维稳相关工作",
        "en": "[document §4(8)] Petitions and stability work for the project"
      }
    },
    {
      "id": "market-supervision-bureau",
      "name": {
        "zh": "县市场监督管理局",
        "en": "County Market Supervision Administration"
      },
      "roles": [
        "inspector"
      ],
      "inspects": [
        "elevator_supervisory_inspection"
      ],
      "duty": {
        "zh": "【文件四（六）】负责指导特种设备检验机构对城镇老旧小区加装电梯竣工后的验收，对电梯更新、改造、修理等环节实施监督管理工作",
        "en": "[document §4(6)] Guides the special-equipment inspection body in the acceptance of added elevators once built; supervises elevator renewal, modification and repair"
      }
    },
    {
      "id": "audit-bureau",
      "name": {
        "zh": "县审计局",
        "en": "County Audit Bureau"
      },
      "roles": [
        "support"
      ],
      "duty": {
        "zh": "【文件三】领导小组成员单位；文件第四部分未列其职责",
        "en": "[document §3] Member of the leading group; the document lists no duty for it under 四"
      }
    },
    {
      "id": "law-enforcement-bureau",
      "name": {
        "zh": "县综合行政执法局",
        "en": "County Comprehensive Administrative Law Enforcement Bureau"
      },
      "roles": [
        "support"
      ],
      "duty": {
        "zh": "【文件四（五）】负责小区内的违法建筑查处，重点处理侵占公共利益、存在安全隐患、严重破坏小区环境秩序、影响小区施工的违法建筑",
        "en": "[document §4(5)] Deals with illegal structures in the communities, above all those that encroach on public interest, are unsafe, disrupt order or obstruct the works"
      }
    },
    {
      "id": "fire-rescue-brigade",
      "name": {
        "zh": "县消防救援大队",
        "en": "County Fire and Rescue Brigade"
      },
      "roles": [
        "inspector"
      ],
      "inspects": [
        "fire_safety"
      ],
      "duty": {
        "zh": "【文件四（十一）】负责城镇老旧小区消防安全改造提供技术指导；本计划中由其进行消防安全检查（假定）",
        "en": "[document §4(11)] Technical guidance on fire safety renovation; in this plan it carries out the fire safety inspections (assumed)"
      }
    },
    {
      "id": "ecology-environment-branch",
      "name": {
        "zh": "市生态环境局江口分局",
        "en": "Jiangkou Branch of the Municipal Ecology and Environment Bureau"
      },
      "roles": [
        "support"
      ],
      "duty": {
        "zh": "【文件三】领导小组成员单位；文件第四部分未列其职责",
        "en": "[document §3] Member of the leading group; the document lists no duty for it under 四"
      }
    },
    {
      "id": "housing-security-center",
      "name": {
        "zh": "县住房城乡建设局住房保障中心",
        "en": "Housing Security Center of the County Housing Bureau"
      },
      "roles": [
        "coordinator"
      ],
      "duty": {
        "zh": "【文件三】领导小组办公室副主任单位，具体办公",
        "en": "[document §3] Deputy head of the leading group's office; day-to-day office work"
      }
    },
    {
      "id": "power-supply-bureau",
      "name": {
        "zh": "县供电局",
        "en": "County Power Supply Bureau"
      },
      "roles": [
        "utility"
      ],
      "utilities": [
        "power"
      ],
      "duty": {
        "zh": "【文件三、二（二）】领导小组成员单位；改造内容含供电。文件第四部分未列其职责：小区供电线路迁改为本计划假定",
        "en": "[document §3, §2(2)] Member of the leading group; power supply is in the scope of the works. The document lists no duty for it under 四: the relocation of power lines is this plan's assumption"
      }
    },
    {
      "id": "water-investment-company",
      "name": {
        "zh": "县水投公司",
        "en": "County Water Investment Company"
      },
      "roles": [
        "utility",
        "inspector"
      ],
      "utilities": [
        "water"
      ],
      "inspects": [
        "water_acceptance"
      ],
      "duty": {
        "zh": "【文件四（九）】负责小区供水、污水技术指导及验收相关工作；供排水管网改造由其实施为本计划假定",
        "en": "[document §4(9)] Technical guidance and acceptance for water supply and sewage; that it also carries out the water works is this plan's assumption"
      }
    },
    {
      "id": "shuangjiang-subdistrict",
      "name": {
        "zh": "双江街道办事处",
        "en": "Shuangjiang Sub-district Office"
      },
      "roles": [
        "coordinator"
      ],
      "duty": {
        "zh": "【文件四（十二）】负责城镇老旧小区改造项目入户摸底调查，矛盾纠纷协调等相关工作；住户拒绝入户、居民有异议而停工的，台账升级至该办（见台账规则）",
        "en": "[document §4(12)] Household surveys and mediation of disputes for the project; work stopped because households refuse access or residents object is escalated to it in the ledger (see the ledger rules)"
      }
    },
    {
      "id": "china-telecom",
      "name": {
        "zh": "中国电信江口分公司",
        "en": "China Telecom Jiangkou Branch"
      },
      "roles": [
        "utility"
      ],
      "utilities": [
        "telecom"
      ],
      "duty": {
        "zh": "【文件四（十三）】负责老旧小区改造项目通讯线路改造等相关工作",
        "en": "[document §4(13)] Relocation of communication lines"
      }
    },
    {
      "id": "china-mobile",
      "name": {
        "zh": "中国移动江口分公司",
        "en": "China Mobile Jiangkou Branch"
      },
      "roles": [
        "utility"
      ],
      "utilities": [
        "telecom"
      ],
      "duty": {
        "zh": "【文件四（十三）】负责老旧小区改造项目通讯线路改造等相关工作",
        "en": "[document §4(13)] Relocation of communication lines"
      }
    },
    {
      "id": "china-unicom",
      "name": {
        "zh": "中国联通江口分公司",
        "en": "China Unicom Jiangkou Branch"
      },
      "roles": [
        "utility"
      ],
      "utilities": [
        "telecom"
      ],
      "duty": {
        "zh": "【文件四（十三）】负责老旧小区改造项目通讯线路改造等相关工作",
        "en": "[document §4(13)] Relocation of communication lines"
      }
    },
    {
      "id": "broadcast-network-company",
      "name": {
        "zh": "县广电网络公司",
        "en": "County Broadcast Network Company"
      },
      "roles": [
        "utility"
      ],
      "utilities": [
        "broadcast"
      ],
      "duty": {
        "zh": "【文件四（十三）】负责老旧小区改造项目通讯线路改造等相关工作",
        "en": "[document §4(13)] Relocation of broadcast and cable lines (communication lines)"
      }
    }
  ],
  "workItems": [
    {
      "id": "ganjiaba-power",
      "community": "ganjiaba",
      "organisation": "power-supply-bureau",
      "utility": "power",
      "title": {
        "zh": "甘家坝供电线路迁改",
        "en": "Ganjiaba: Power line relocation"
      },
      "plannedStart": "2023-04-01",
      "plannedFinish": "2023-09-30",
      "households": 436,
      "acceptance": "joint_acceptance"
    },
    {
      "id": "ganjiaba-water",
      "community": "ganjiaba",
      "organisation": "water-investment-company",
      "utility": "water",
      "title": {
        "zh": "甘家坝供排水管网改造",
        "en": "Ganjiaba: Water supply and drainage renewal"
      },
      "plannedStart": "2023-04-15",
      "plannedFinish": "2023-10-31",
      "households": 436,
      "acceptance": "water_acceptance"
    },
    {
      "id": "ganjiaba-china-telecom",
      "community": "ganjiaba",
      "organisation": "china-telecom",
      "utility": "telecom",
      "title": {
        "zh": "甘家坝电信通讯线路改造",
        "en": "Ganjiaba: China Telecom line relocation"
      },
      "plannedStart": "2023-05-01",
      "plannedFinish": "2023-10-15",
      "households": 436,
      "acceptance": "joint_acceptance"
    },
    {
      "id": "ganjiaba-china-mobile",
      "community": "ganjiaba",
      "organisation": "china-mobile",
      "utility": "telecom",
      "title": {
        "zh": "甘家坝移动通讯线路改造",
        "en": "Ganjiaba: China Mobile line relocation"
      },
      "plannedStart": "2023-05-01",
      "plannedFinish": "2023-10-15",
      "households": 436,
      "acceptance": "joint_acceptance"
    },
    {
      "id": "ganjiaba-china-unicom",
      "community": "ganjiaba",
      "organisation": "china-unicom",
      "utility": "telecom",
      "title": {
        "zh": "甘家坝联通通讯线路改造",
        "en": "Ganjiaba: China Unicom line relocation"
      },
      "plannedStart": "2023-05-01",
      "plannedFinish": "2023-10-15",
      "households": 436,
      "acceptance": "joint_acceptance"
    },
    {
      "id": "ganjiaba-broadcast",
      "community": "ganjiaba",
      "organisation": "broadcast-network-company",
      "utility": "broadcast",
      "title": {
        "zh": "甘家坝广电线路改造",
        "en": "Ganjiaba: Broadcast line relocation"
      },
      "plannedStart": "2023-05-15",
      "plannedFinish": "2023-10-31",
      "households": 436,
      "acceptance": "joint_acceptance"
    },
    {
      "id": "ruijing-biyuan-power",
      "community": "ruijing-biyuan",
      "organisation": "power-supply-bureau",
      "utility": "power",
      "title": {
        "zh": "瑞景碧苑供电线路迁改",
        "en": "Ruijing Biyuan: Power line relocation"
      },
      "plannedStart": "2023-04-16",
      "plannedFinish": "2023-10-15",
      "households": 298,
      "acceptance": "joint_acceptance"
    },
    {
      "id": "ruijing-biyuan-water",
      "community": "ruijing-biyuan",
      "organisation": "water-investment-company",
      "utility": "water",
      "title": {
        "zh": "瑞景碧苑供排水管网改造",
        "en": "Ruijing Biyuan: Water supply and drainage renewal"
      },
      "plannedStart": "2023-04-30",
      "plannedFinish": "2023-11-15",
      "households": 298,
      "acceptance": "water_acceptance"
    },
    {
      "id": "ruijing-biyuan-china-telecom",
      "community": "ruijing-biyuan",
      "organisation": "china-telecom",
      "utility": "telecom",
      "title": {
        "zh": "瑞景碧苑电信通讯线路改造",
        "en": "Ruijing Biyuan: China Telecom line relocation"
      },
      "plannedStart": "2023-05-16",
      "plannedFinish": "2023-10-30",
      "households": 298,
      "acceptance": "joint_acceptance"
    },
    {
      "id": "ruijing-biyuan-china-mobile",
      "community": "ruijing-biyuan",
      "organisation": "china-mobile",
      "utility": "telecom",
      "title": {
        "zh": "瑞景碧苑移动通讯线路改造",
        "en": "Ruijing Biyuan: China Mobile line relocation"
      },
      "plannedStart": "2023-05-16",
      "plannedFinish": "2023-10-30",
      "households": 298,
      "acceptance": "joint_acceptance"
    },
    {
      "id": "ruijing-biyuan-china-unicom",
      "community": "ruijing-biyuan",
      "organisation": "china-unicom",
      "utility": "telecom",
      "title": {
        "zh": "瑞景碧苑联通通讯线路改造",
        "en": "Ruijing Biyuan: China Unicom line relocation"
      },
      "plannedStart": "2023-05-16",
      "plannedFinish": "2023-10-30",
      "households": 298,
      "acceptance": "joint_acceptance"
    },
    {
      "id": "ruijing-biyuan-broadcast",
      "community": "ruijing-biyuan",
      "organisation": "broadcast-network-company",
      "utility": "broadcast",
      "title": {
        "zh": "瑞景碧苑广电线路改造",
        "en": "Ruijing Biyuan: Broadcast line relocation"
      },
      "plannedStart": "2023-05-30",
      "plannedFinish": "2023-11-15",
      "households": 298,
      "acceptance": "joint_acceptance"
    },
    {
      "id": "jinxiu-xincheng-power",
      "community": "jinxiu-xincheng",
      "organisation": "power-supply-bureau",
      "utility": "power",
      "title": {
        "zh": "锦绣新城供电线路迁改",
        "en": "Jinxiu Xincheng: Power line relocation"
      },
      "plannedStart": "2023-05-01",
      "plannedFinish": "2023-10-30",
      "households": 238,
      "acceptance": "joint_acceptance"
    },
    {
      "id": "jinxiu-xincheng-water",
      "community": "jinxiu-xincheng",
      "organisation": "water-investment-company",
      "utility": "water",
      "title": {
        "zh": "锦绣新城供排水管网改造",
        "en": "Jinxiu Xincheng: Water supply and drainage renewal"
      },
      "plannedStart": "2023-05-15",
      "plannedFinish": "2023-11-30",
      "households": 238,
      "acceptance": "water_acceptance"
    },
    {
      "id": "jinxiu-xincheng-china-telecom",
      "community": "jinxiu-xincheng",
      "organisation": "china-telecom",
      "utility": "telecom",
      "title": {
        "zh": "锦绣新城电信通讯线路改造",
        "en": "Jinxiu Xincheng: China Telecom line relocation"
      },
      "plannedStart": "2023-05-31",
      "plannedFinish": "2023-11-14",
      "households": 238,
      "acceptance": "joint_acceptance"
    },
    {
      "id": "jinxiu-xincheng-china-mobile",
      "community": "jinxiu-xincheng",
      "organisation": "china-mobile",
      "utility": "telecom",
      "title": {
        "zh": "锦绣新城移动通讯线路改造",
        "en": "Jinxiu Xincheng: China Mobile line relocation"
      },
      "plannedStart": "2023-05-31",
      "plannedFinish": "2023-11-14",
      "households": 238,
      "acceptance": "joint_acceptance"
    },
    {
      "id": "jinxiu-xincheng-china-unicom",
      "community": "jinxiu-xincheng",
      "organisation": "china-unicom",
      "utility": "telecom",
      "title": {
        "zh": "锦绣新城联通通讯线路改造",
        "en": "Jinxiu Xincheng: China Unicom line relocation"
      },
      "plannedStart": "2023-05-31",
      "plannedFinish": "2023-11-14",
      "households": 238,
      "acceptance": "joint_acceptance"
    },
    {
      "id": "jinxiu-xincheng-broadcast",
      "community": "jinxiu-xincheng",
      "organisation": "broadcast-network-company",
      "utility": "broadcast",
      "title": {
        "zh": "锦绣新城广电线路改造",
        "en": "Jinxiu Xincheng: Broadcast line relocation"
      },
      "plannedStart": "2023-06-14",
      "plannedFinish": "2023-11-30",
      "households": 238,
      "acceptance": "joint_acceptance"
    },
    {
      "id": "ganjiaba-elevators",
      "community": "ganjiaba",
      "organisation": "housing-bureau",
      "title": {
        "zh": "甘家坝加装电梯（b01、b02，假定）",
        "en": "Ganjiaba: Added elevators (b01, b02; assumed)"
      },
      "plannedStart": "2023-06-01",
      "plannedFinish": "2023-11-15",
      "households": 108,
      "acceptance": "elevator_supervisory_inspection"
    },
    {
      "id": "ruijing-biyuan-elevator",
      "community": "ruijing-biyuan",
      "organisation": "housing-bureau",
      "title": {
        "zh": "瑞景碧苑加装电梯（b03，假定）",
        "en": "Ruijing Biyuan: Added elevator (b03; assumed)"
      },
      "plannedStart": "2023-06-15",
      "plannedFinish": "2023-11-30",
      "households": 50,
      "acceptance": "elevator_supervisory_inspection"
    },
    {
      "id": "ganjiaba-survey",
      "community": "ganjiaba",
      "organisation": "shuangjiang-subdistrict",
      "title": {
        "zh": "甘家坝入户摸底调查",
        "en": "Ganjiaba: Household survey"
      },
      "plannedStart": "2023-03-20",
      "plannedFinish": "2023-04-28",
      "households": 436
    },
    {
      "id": "ruijing-biyuan-survey",
      "community": "ruijing-biyuan",
      "organisation": "shuangjiang-subdistrict",
      "title": {
        "zh": "瑞景碧苑入户摸底调查",
        "en": "Ruijing Biyuan: Household survey"
      },
      "plannedStart": "2023-03-27",
      "plannedFinish": "2023-05-05",
      "households": 298
    },
    {
      "id": "jinxiu-xincheng-survey",
      "community": "jinxiu-xincheng",
      "organisation": "shuangjiang-subdistrict",
      "title": {
        "zh": "锦绣新城入户摸底调查",
        "en": "Jinxiu Xincheng: Household survey"
      },
      "plannedStart": "2023-04-03",
      "plannedFinish": "2023-05-12",
      "households": 238
    }
  ]
}
"""#
}
