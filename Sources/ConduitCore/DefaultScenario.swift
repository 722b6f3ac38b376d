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
  "reference": "江府办发〔2023〕8号 (2023-03-02)",
  "note": "From the plan: the three communities, 972 households in total, the deadline and the organisations with their duties. Illustrative, not from the plan: the split of households over communities and buildings, the building ids, the work items and their planned dates.",
  "deadline": "2023-12-31",
  "timeZone": "Asia/Shanghai",
  "utcOffset": "+08:00",
  "noticeRules": [
    {
      "service": "power",
      "leadHours": 168,
      "source": {
        "zh": "《供电营业规则》（电力工业部，1996年）第六十八条：因供电设施计划检修需要停电时，应提前七天通知用户或进行公告",
        "en": "Electricity Supply Business Rules (Ministry of Electric Power, 1996), article 68: a planned interruption for maintenance of supply facilities is notified to users, or announced, seven days in advance"
      }
    },
    {
      "service": "water",
      "leadHours": 24,
      "source": {
        "zh": "《城市供水条例》（国务院令第158号，1994年）第二十二条：因工程施工、设备维修等原因确需停止供水的，应当经城市供水行政主管部门批准并提前24小时通知用水单位和个人",
        "en": "Regulations on Urban Water Supply (State Council order no. 158, 1994), article 22: a stop of supply for construction or maintenance needs the water authority's approval and 24 hours' notice to users"
      }
    },
    {
      "service": "telecom",
      "leadHours": 24,
      "source": {
        "zh": "无全国性规定；本计划按24小时执行",
        "en": "No national rule fixes a lead; this plan requires 24 hours"
      },
      "assumed": true
    },
    {
      "service": "broadcast",
      "leadHours": 24,
      "source": {
        "zh": "无全国性规定；本计划按24小时执行",
        "en": "No national rule fixes a lead; this plan requires 24 hours"
      },
      "assumed": true
    }
  ],
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
        "zh": "会同县住房城乡建设局建立专项督查台账，实时掌握、督查推进项目建设工作进度，对推进不力、进度缓慢的进行通报批评，限期整改",
        "en": "Keeps the special supervision ledger with the housing bureau, tracks progress in real time, and names and sets deadlines for units that lag"
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
        "zh": "负责该项目建设的技术指导和施工监管、建设等相关工作；改造工作的责任主体、实施主体；领导小组办公室设在该局",
        "en": "Technical guidance, construction supervision and delivery of the project; the responsible and implementing body; hosts the leading group's office"
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
        "zh": "负责该项目宣传相关工作",
        "en": "Publicity for the project"
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
        "zh": "负责该项目批复立项和建设资金申报等相关工作",
        "en": "Project approval and applications for construction funds"
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
        "zh": "负责项目建设资金的筹措、调度使用和资金使用监管等相关工作",
        "en": "Raising, allocating and overseeing construction funds"
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
        "zh": "负责该项目规划、用地手续审批及违规建设的认定相关工作",
        "en": "Planning and land-use approvals; determining illegal construction"
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
        "zh": "负责打击强行阻工堵路、强拉强运、强揽工程等恶劣行为",
        "en": "Acts against forcible obstruction of works and roads, forced haulage and forced contracting"
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
        "zh": "负责该项目信访维稳相关工作",
        "en": "Petitions and stability work for the project"
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
        "zh": "负责指导特种设备检验机构对城镇老旧小区加装电梯竣工后的验收，对电梯更新、改造、修理等环节实施监督管理工作",
        "en": "Guides the special-equipment inspection body in accepting newly added elevators; supervises elevator renewal, modification and repair"
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
        "zh": "领导小组成员单位，配合项目建设",
        "en": "Member of the leading group; cooperates with the project"
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
        "zh": "负责小区内的违法建筑查处，重点处理侵占公共利益、存在安全隐患、严重破坏小区环境秩序、影响小区施工的违法建筑",
        "en": "Deals with illegal structures in the communities, above all those that encroach on public interest, are unsafe, disrupt order or obstruct the works"
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
        "zh": "负责城镇老旧小区消防安全改造提供技术指导",
        "en": "Technical guidance on fire safety renovation"
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
        "zh": "领导小组成员单位，配合项目建设",
        "en": "Member of the leading group; cooperates with the project"
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
        "zh": "领导小组办公室副主任单位，具体办公",
        "en": "Deputy head of the leading group's office; day-to-day office work"
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
        "zh": "领导小组成员单位；小区供电线路改造（改造内容：供电）",
        "en": "Member of the leading group; relocation of power lines in the communities (renovation scope: power supply)"
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
        "zh": "负责小区供水、污水技术指导及验收相关工作",
        "en": "Technical guidance and acceptance for water supply and sewage"
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
        "zh": "负责城镇老旧小区改造项目入户摸底调查，矛盾纠纷协调等相关工作",
        "en": "Household surveys and mediation of disputes for the project"
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
        "zh": "负责老旧小区改造项目通讯线路改造等相关工作",
        "en": "Relocation of communication lines"
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
        "zh": "负责老旧小区改造项目通讯线路改造等相关工作",
        "en": "Relocation of communication lines"
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
        "zh": "负责老旧小区改造项目通讯线路改造等相关工作",
        "en": "Relocation of communication lines"
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
        "zh": "负责老旧小区改造项目通讯线路改造等相关工作",
        "en": "Relocation of broadcast and cable lines"
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
    }
  ]
}
"""#
}
