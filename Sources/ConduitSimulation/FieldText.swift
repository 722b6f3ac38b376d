import ConduitCore

/// The words of the simulated field reports: why work stops and what inspectors find, in Chinese and English.
enum FieldText {
    /// Stops of days: weather, materials, coordination.
    static let shortStopReasons = [
        "连续降雨，开挖暂停 / continuous rain; trenching paused",
        "电缆及配件未到货 / cables and fittings not delivered",
        "与其他单位管线交叉，等待协调 / the trench crosses another utility's lines; awaiting coordination",
        "道路开挖许可延期 / the road opening permit is delayed",
    ]

    /// Stops of weeks: residents and structures in the way.
    static let longStopReasons = [
        "居民对线路走向有异议，街道办协调中 / residents object to the route of the new lines; the sub-district office mediates",
        "违章搭建占用管线通道，待执法局拆除 / an illegal structure blocks the line corridor; awaiting removal by law enforcement",
        "部分住户不同意入户施工 / some households refuse access for the indoor works",
    ]

    /// Defects the acceptance of `item` may find; `%b` is replaced by a building id.
    static func acceptanceDefects(_ item: WorkItem) -> [String] {
        guard let utility = item.utility else {
            return item.acceptance == .elevatorSupervisoryInspection ? addedElevatorDefects : generalWorkDefects
        }
        return switch utility {
        case .power:
            [
                "%b 楼电表箱进线未封堵 / cable entry of the meter box in building %b not sealed",
                "新设配电箱接地电阻超标 / earthing resistance of the new distribution box above the limit",
                "%b 楼楼道桥架盖板缺失 / cable tray covers missing in the stairwell of building %b",
                "旧线路未拆除 / the old overhead lines are not removed",
            ]
        case .water:
            [
                "%b 楼新立管试压 30 分钟压降 0.08 MPa / the new riser of building %b lost 0.08 MPa in the 30-minute pressure test",
                "阀门井盖与路面不平 / valve chamber cover not level with the road",
                "%b 楼外露管道未保温 / exposed pipes at building %b not insulated",
                "管道冲洗消毒记录缺失 / flushing and disinfection records missing",
            ]
        case .telecom:
            [
                "%b 楼光缆接头盒未固定 / fibre splice closure at building %b not fixed",
                "旧架空线缆未拆除 / the old overhead cables are not removed",
                "%b 楼分纤箱标签缺失 / labels missing in the fibre distribution box of building %b",
            ]
        case .broadcast:
            [
                "%b 楼分支器未入箱 / taps at building %b not enclosed",
                "旧有线电视线缆未拆除 / the old cable television lines are not removed",
                "信号电平低于验收标准 / signal level below the acceptance standard",
            ]
        }
    }

    /// Defects the supervisory inspection of an added elevator may find (before it may be used).
    static let addedElevatorDefects = [
        "%b 楼加装电梯层门门锁啮合长度不足 / the landing door locks of the added elevator at building %b engage too short",
        "%b 楼电梯井道与楼梯间之间防火封堵缺失 / fire stopping missing between the shaft and the stairwell of building %b",
        "%b 楼电梯限速器校验报告缺失 / the overspeed governor's test report for building %b is missing",
    ]

    /// Defects the acceptance of work of no utility may find.
    static let generalWorkDefects = [
        "%b 楼施工现场未清理 / the site at building %b is not cleared",
        "竣工资料不全 / the completion records are incomplete",
    ]

    /// Minor points a fire safety inspection notes; `%b` is replaced by a building id.
    static let fireSafetyNotes = [
        "%b 楼楼道电缆穿墙处防火封堵不完整 / fire stopping incomplete where cables pass the stairwell wall of building %b",
        "%b 楼竖井内线缆未做阻燃处理 / cables in the shaft of building %b not fire-retardant treated",
    ]

    /// `text` with `%b` replaced by `building`.
    static func fill(_ text: String, building: String) -> String {
        text.replacing("%b", with: building)
    }
}
